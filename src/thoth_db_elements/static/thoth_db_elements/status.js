/* Live status badges for the thoth-db-elements change list.
   Polls the mixin's JSON endpoint while any listed row is RUNNING and
   updates each badge in place; no page reload, no external assets. */
(function () {
  "use strict";

  function badges() {
    return Array.prototype.slice.call(
      document.querySelectorAll("[data-thoth-db-elements-id]")
    );
  }

  function statusUrl() {
    var first = badges()[0];
    return first ? first.getAttribute("data-status-url") : null;
  }

  function interval() {
    var first = badges()[0];
    var value = first ? parseInt(first.getAttribute("data-poll-ms"), 10) : NaN;
    return isNaN(value) ? 2000 : value;
  }

  function update(row) {
    badges().forEach(function (el) {
      if (String(el.getAttribute("data-thoth-db-elements-id")) !== String(row.id)) {
        return;
      }
      el.className = "thoth-db-elements-status status-" + String(row.status).toLowerCase();
      el.querySelector(".badge").textContent = row.label || row.status;
      el.querySelector(".detail").textContent = row.detail || "";
      el.setAttribute("title", row.error || "");
    });
  }

  function anyRunning() {
    return badges().some(function (el) {
      return el.className.indexOf("status-running") !== -1;
    });
  }

  function poll() {
    var url = statusUrl();
    var ids = badges().map(function (el) {
      return el.getAttribute("data-thoth-db-elements-id");
    });
    if (!url || ids.length === 0 || !anyRunning()) {
      return;
    }
    fetch(url + "?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : { rows: [] };
      })
      .then(function (data) {
        (data.rows || []).forEach(update);
      })
      .catch(function () {})
      .then(function () {
        window.setTimeout(poll, interval());
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setTimeout(poll, interval());
  });
})();
