"""Admin integration: ``DbElementsAdminMixin`` for a host's ``SqlDb`` admin.

The mixin adds, through the ``get_*`` hooks (never by overwriting the host's
``actions``, ``list_display`` or ``fieldsets``):

* the action ``create_db_elements_async`` with the seed's label and messages,
  plus ``force_reset_db_elements`` (asks for a reason) and
  ``cancel_db_elements``;
* a status badge in the change list, live progress refreshed by a small
  script polling a JSON endpoint;
* the collapsed fieldset "Database Elements Task Status" with the last run's
  report and a link to its log;
* a log viewer that only ever opens files the library wrote for that row.

Starting, cancelling and resetting need change permission; the status
endpoint and the log viewer need view permission.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import OperationalError, connections, models, router, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from ._bulk import in_lists
from ._catalogue_lock import _is_lock_timeout
from ._clock import database_now
from ._fields import key_of, model_has_field, writes_to
from .catalogue import catalogue_for
from .checks import action_replaced
from .conf import app_settings
from .logging import log_label, run_log_files
from .models import LIFECYCLE_FIELD_NAMES, SEED_FIELD_NAMES, TaskStatus
from .tasks import (
    CANCEL_SET,
    CANCEL_TOO_LATE,
    cancel_outcome,
    start_db_elements_creation,
)
from .validation import (
    check_sqldb_db_elements_can_start,
    force_reset_sqldb_db_elements_task_status,
    is_queued,
    is_stale,
)

#: Shown beside a RUNNING row whose worker stopped beating (or that waited
#: for one longer than STALE_TIMEOUT_HOURS): nothing will end it but a start
#: or a reset.
STALE_DETAIL = "not responding: starting it again marks it failed and restarts it"
#: Before the elapsed time of a RUNNING row no worker has taken yet.
QUEUED_DETAIL = "queued, waiting for a worker:"

__all__ = [
    "ACTION_DESCRIPTION",
    "FIELDSET_TITLE",
    "FORCE_DESCRIPTION",
    "QUEUED_DETAIL",
    "STALE_DETAIL",
    "DbElementsAdminMixin",
    "DbElementsModelAdmin",
]

ACTION_DESCRIPTION = (
    "Create all database elements (tables, columns, relationships) - ASYNC"
)
FIELDSET_TITLE = "Database Elements Task Status"
FIELDSET_DESCRIPTION = (
    "Status of the last database elements creation task: progress, report and log."
)
_STATUS_DISPLAY = "db_elements_status_badge"
#: The field a cancel is asked through (``DbElementsTaskMixin``).
_CANCEL_FIELD = "db_elements_cancel_requested"
_ACTIONS = (
    "create_db_elements_async",
    "create_db_elements_force",
    "cancel_db_elements",
    "force_reset_db_elements",
)
FORCE_DESCRIPTION = (
    "Create all database elements, deleting what the database lost "
    "whatever the deletion threshold (force) - ASYNC"
)
_EXTRA_READONLY = (
    "db_elements_progress",
    "db_elements_report_summary",
    "db_elements_log_link",
)
_MAX_LOG_BYTES = 2_000_000

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object


def _workspace_id(request: HttpRequest) -> Any:
    workspace = getattr(request, "current_workspace", None)
    if workspace is not None and getattr(workspace, "id", None) is not None:
        return workspace.id
    return app_settings.DEFAULT_WORKSPACE_ID


class DbElementsAdminMixin(_Base):
    """Mix into the host's ``SqlDb`` ``ModelAdmin`` (before ``admin.ModelAdmin``)."""

    db_elements_poll_interval_ms = 2000

    def check(self, **kwargs: Any) -> list[Any]:
        """Django's checks of the admin, and ``W004``: a
        ``create_db_elements_async`` of the host's own replaces the
        mixin's action."""
        found = list(super().check(**kwargs))
        own = DbElementsAdminMixin.create_db_elements_async
        return found + action_replaced(type(self), own)

    # -- actions -----------------------------------------------------------
    def get_actions(self, request: HttpRequest, action_location: Any = None) -> Any:
        # ``action_location`` exists from Django 6.1 on; pass it only when given.
        extra = {} if action_location is None else {"action_location": action_location}
        actions = super().get_actions(request, **extra)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions  # the host turned actions off, or a popup
        if self.has_change_permission(request):
            for name in _ACTIONS:
                if name == "cancel_db_elements" and not model_has_field(
                    self.model, _CANCEL_FIELD
                ):
                    continue  # nothing to tell a run
                action = self.get_action(name, **extra)
                if action is not None:
                    actions[name] = action
        return actions

    @admin.action(description=ACTION_DESCRIPTION, permissions=["change"])
    def create_db_elements_async(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        """Queue one harvest per selected database (the seed's admin action)."""
        self._start_harvests(request, queryset, force=False)

    @admin.action(description=FORCE_DESCRIPTION, permissions=["change"])
    def create_db_elements_force(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> TemplateResponse | None:
        """After a confirmation page, queue harvests that may delete more than
        ``DELETE_THRESHOLD`` of a catalogue (``force=True``)."""
        if request.POST.get("post") == "yes":
            self._start_harvests(request, queryset, force=True)
            return None
        return self._confirmation(
            request,
            queryset,
            "force_harvest",
            "Create database elements with force",
            action_name="create_db_elements_force",
            submit_label="Harvest with force",
            threshold=f"{float(app_settings.DELETE_THRESHOLD):.0%}",
        )

    def _confirmation(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Any],
        page: str,
        title: str,
        **extra: Any,
    ) -> TemplateResponse:
        """The confirmation page ``<page>_confirmation.html`` of an action."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "page_class": f"thoth-db-elements-{page.replace('_', '-')}",
            **extra,
        }
        return TemplateResponse(
            request, f"admin/thoth_db_elements/{page}_confirmation.html", context
        )

    def _changeable(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> list[models.Model]:
        """The selected rows this user may change, in key order. A host may
        refuse some row by row (``has_change_permission(request, obj)``), as
        its change form does; a message names the ones left alone, or says
        that none is selected."""
        rows: list[models.Model] = []
        refused: list[str] = []
        if not queryset.exists():
            messages.error(request, "Please select at least one database.")
            return rows
        for obj in queryset.order_by("pk"):
            if self.has_change_permission(request, obj):
                rows.append(obj)
            else:
                refused.append(str(getattr(obj, "name", obj)))
        if refused:
            messages.error(
                request,
                f"You may not change {len(refused)} of the selected database(s), "
                f"left as they are: {', '.join(refused)}",
            )
        return rows

    def _start_harvests(
        self, request: HttpRequest, queryset: models.QuerySet[Any], *, force: bool
    ) -> None:
        ready: list[models.Model] = []
        skipped: list[tuple[str, str]] = []
        rows = self._changeable(request, queryset)
        if not rows:
            return  # every one refused, and said so
        for sql_db in rows:
            try:
                can_start, reason = check_sqldb_db_elements_can_start(sql_db)
            except ObjectDoesNotExist:  # deleted since it was selected
                can_start, reason = False, "Not found"
            if can_start:
                ready.append(sql_db)
            else:
                skipped.append((str(getattr(sql_db, "name", sql_db)), reason))
        if not ready:
            messages.error(
                request,
                f"No databases are ready for processing. Skipped: {len(skipped)}",
            )
            for name, reason in skipped:
                messages.error(request, f"  - {name}: {reason}")
            return
        try:
            result = start_db_elements_creation(
                ready,
                workspace_id=_workspace_id(request),
                user_id=getattr(request.user, "pk", None),
                force=force,
            )
        except Exception as exc:
            messages.error(
                request, f"Error starting async database elements creation: {exc}"
            )
            return
        skipped.extend((s.name, s.reason) for s in result.skipped)
        queued = result.queued
        if queued:
            messages.success(
                request,
                f"Started async database elements creation for {len(queued)} "
                f"database(s). Task ID: {result.batch_id}. Progress is shown in the list; "
                "each database has its own log.",
            )
        if result.refused:
            messages.error(
                request,
                f"Could not queue the task of {len(result.refused)} database(s):",
            )
            for refused in result.refused:
                messages.error(request, f"  - {refused.name}: {refused.reason}")
        if not result.started:
            messages.error(
                request,
                f"No databases are ready for processing. Skipped: {len(skipped)}",
            )
        if skipped and result.started:
            messages.warning(
                request, f"Skipped {len(skipped)} database(s) that were not ready:"
            )
        for name, reason in skipped:
            level = messages.warning if result.started else messages.error
            level(request, f"  - {name}: {reason}")
        return

    @admin.action(
        description="Cancel the running database elements creation",
        permissions=["change"],
    )
    def cancel_db_elements(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        """Ask the selected RUNNING tasks to stop at their next step."""
        if not model_has_field(self.model, _CANCEL_FIELD):
            # Offered only when a host lists it in its own actions.
            messages.warning(
                request,
                f"Runs of {self.model._meta.verbose_name_plural} cannot be "
                f"cancelled: the model has no {_CANCEL_FIELD} field "
                "(DbElementsTaskMixin). Force reset a run instead.",
            )
            return
        rows = self._changeable(request, queryset)
        if not rows:
            return  # none selected, or every one refused, and said so
        cancelled, writing, locked = [], [], []
        for row in rows:
            try:
                outcome = cancel_outcome(row)
                if outcome == CANCEL_SET:
                    cancelled.append(row)
                elif outcome == CANCEL_TOO_LATE:
                    writing.append(row)
            except OperationalError as exc:
                if not _is_lock_timeout(exc):
                    raise
                # Another transaction held the row all that time (MySQL/
                # MariaDB: one a sync wrote in, still open after it).
                locked.append(row)
        if cancelled:
            messages.success(
                request, f"Cancel requested for {len(cancelled)} database(s)."
            )
        elif not writing and not locked:
            messages.warning(request, "None of the selected databases is running.")
        for row in locked:
            messages.error(
                request,
                f"The database {getattr(row, 'name', row)} is locked by another "
                "transaction: its cancel was not recorded. Try again.",
            )
        for row in writing:
            messages.warning(
                request,
                f"The database {getattr(row, 'name', row)} is writing its "
                "catalogue: too late to cancel, its run goes on to its end.",
            )
        for row in cancelled:
            if is_stale(row):
                # No worker is there to hear it.
                messages.warning(
                    request,
                    # Not the name first: the admin capitalises a message.
                    f"The database {getattr(row, 'name', row)} is not "
                    "responding: no worker "
                    "will act on the cancel. "
                    "Start it again, or force reset it.",
                )
            elif is_queued(row):
                messages.warning(
                    request,
                    f"The database {getattr(row, 'name', row)} is still queued: "
                    "it stops "
                    "when a worker takes it. If no worker is running, force "
                    "reset it.",
                )

    @admin.action(
        description="Force reset the database elements task status",
        permissions=["change"],
    )
    def force_reset_db_elements(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> TemplateResponse | None:
        """Confirm with a reason, then put the selected rows back to IDLE."""
        # One line in the log, whatever was typed.
        reason = " ".join(str(request.POST.get("reason", "")).split())
        if request.POST.get("post") == "yes" and reason:
            user = getattr(request.user, "get_username", lambda: "?")()
            rows = self._changeable(request, queryset)
            not_reset = [
                str(getattr(s, "name", s))
                for s in rows
                if not force_reset_sqldb_db_elements_task_status(
                    s, reason=f"{reason} (by {user})"
                )
            ]
            if len(rows) > len(not_reset):
                messages.success(
                    request, f"Reset {len(rows) - len(not_reset)} database(s) to Idle."
                )
            if not_reset:
                messages.error(
                    request,
                    f"Could not reset {len(not_reset)} database(s), left as they "
                    f"are (the log says why): {', '.join(not_reset)}",
                )
            return None
        return self._confirmation(
            request,
            queryset,
            "force_reset",
            "Force reset the database elements task status",
            action_name="force_reset_db_elements",
            submit_label="Reset to Idle",
            reason=reason,
            missing_reason=request.POST.get("post") == "yes" and not reason,
        )

    # -- change list and form ---------------------------------------------
    def get_list_display(self, request: HttpRequest) -> Any:
        display = list(super().get_list_display(request))
        if "db_elements_status" in display:
            display[display.index("db_elements_status")] = _STATUS_DISPLAY
        elif _STATUS_DISPLAY not in display:
            display.append(_STATUS_DISPLAY)
        return display

    @admin.display(description="DB elements status", ordering="db_elements_status")
    def db_elements_status_badge(self, obj: models.Model) -> str:
        """The status as a coloured badge, with progress while RUNNING."""
        status = str(getattr(obj, "db_elements_status", ""))
        label = dict(TaskStatus.choices).get(status, status)
        return format_html(
            '<span class="thoth-db-elements-status status-{}" data-thoth-db-elements-id="{}" '
            'data-status-url="{}" data-poll-ms="{}" title="{}">'
            '<span class="badge">{}</span> <span class="detail">{}</span></span>',
            status.lower(),
            obj.pk,
            reverse(self._url_name("db_elements_status")),
            self.db_elements_poll_interval_ms,
            getattr(obj, "db_elements_error", "") or "",
            label,
            self._progress_text(obj),
        )

    @admin.display(description="Progress")
    def db_elements_progress(self, obj: models.Model) -> str:
        done = getattr(obj, "db_elements_progress_done", None)
        total = getattr(obj, "db_elements_progress_total", None)
        if getattr(obj, "db_elements_status", None) != TaskStatus.RUNNING and total:
            return f"{done or 0}/{total} tables"
        return self._progress_text(obj) or "-"

    @admin.display(description="Last run")
    def db_elements_report_summary(self, obj: models.Model) -> str:
        report = getattr(obj, "db_elements_report", None) or {}
        error = getattr(obj, "db_elements_error", "") or report.get("error", "")
        parts = []
        for kind in ("tables", "columns", "relationships"):
            counts = report.get(kind)
            if counts:
                parts.append(
                    f"{kind}: {counts['created']} created, {counts['updated']} updated, "
                    f"{counts['deleted']} deleted, {counts['unchanged']} unchanged"
                )
        if report.get("failed_tables"):
            parts.append(f"unreadable tables: {len(report['failed_tables'])}")
        if error:
            parts.append(f"error: {error}")
        return "; ".join(parts) or "-"

    @admin.display(description="Log")
    def db_elements_log_link(self, obj: models.Model) -> str:
        if obj.pk is None or not self._log_files(obj):
            return "-"
        url = reverse(self._url_name("db_elements_logs"), args=[obj.pk])
        return format_html('<a href="{}">View run logs</a>', url)

    def get_readonly_fields(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        for name in (*self._status_fields(), *self._extra_fields()):
            if name not in readonly:
                readonly.append(name)
        return readonly

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None) -> Any:
        """The run's own fields are never inputs of the form: what the
        worker writes there, a form opened before would write back."""
        declared = super().get_exclude(request, obj)
        if declared is None:
            # Django would have taken the form's own Meta.exclude (a
            # password kept out of the form, say): keep it.
            declared = getattr(getattr(self.form, "_meta", None), "exclude", None)
        exclude = list(declared or ())
        exclude += [name for name in self._run_fields() if name not in exclude]
        return exclude

    def save_model(
        self, request: HttpRequest, obj: models.Model, form: Any, change: bool
    ) -> None:
        """Save a changed row with its run's fields as they are now: a run
        that ended since the row was loaded keeps its status, report and
        log. The row is locked from that read to the save, so a worker's
        write waits and comes after."""
        if not change or obj.pk is None:
            super().save_model(request, obj, form, change)
            return
        # Where save() and delete() write (not a read replica's alias).
        using = router.db_for_write(type(obj), instance=obj)
        # PostgreSQL: FOR NO KEY UPDATE, which the key checks of a sync
        # committing rows that point at this one do not wait for.
        no_key = connections[using].features.has_select_for_no_key_update
        run_fields = self._run_fields()
        with transaction.atomic(using=using):
            # The base manager, as save() writes through: a default manager
            # of the host's that filters rows must not hide this one.
            now = (
                type(obj)
                ._base_manager.using(using)
                .select_for_update(no_key=no_key)
                .filter(pk=obj.pk)
                .values(*run_fields)
                .order_by("pk")  # no default ordering's joins under a lock
                .first()
            )
            if now is None:
                # Deleted meanwhile: Django saves it anew, but not as the
                # run it was in.
                fields = {f.name: f for f in obj._meta.concrete_fields}
                now = {name: fields[name].get_default() for name in run_fields}
            for name, value in now.items():
                setattr(obj, name, value)
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        """Delete the row, locking it first (``_lock_rows``)."""
        # Where save() and delete() write (not a read replica's alias).
        using = router.db_for_write(type(obj), instance=obj)
        with transaction.atomic(using=using):
            _lock_rows(type(obj), using, [obj.pk])
            super().delete_model(request, obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        """Delete the rows, locking them first (``_lock_rows``)."""
        # Where delete() writes: the change list's queryset is a read one.
        using = getattr(queryset, "_db", None) or router.db_for_write(queryset.model)
        with transaction.atomic(using=using):
            # The keys first, unlocked and in the database's order: a locking
            # subquery would lock every row MariaDB scans, others' too.
            keys = queryset.using(using).order_by("pk").values_list("pk", flat=True)
            _lock_rows(queryset.model, using, list(keys))
            super().delete_queryset(request, queryset)

    def get_fieldsets(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> Any:
        ours = [*self._status_fields(), *self._extra_fields()]
        if obj is not None and not _may_read_catalogue(request, obj):
            ours.remove("db_elements_log_link")  # its page would refuse them
        # Run fields the host shows read-only stay where the host put them.
        shown = set(self.get_readonly_fields(request, obj))
        hidden = {*ours, *(name for name in self._run_fields() if name not in shown)}
        fieldsets = []
        found = False
        for title, options in super().get_fieldsets(request, obj):
            fields = [f for f in options.get("fields", ()) if f not in hidden]
            if title == FIELDSET_TITLE:
                found = True
                fields = list(ours)
            fieldsets.append((title, {**options, "fields": fields}))
        if not found:
            fieldsets.append(
                (
                    FIELDSET_TITLE,
                    {
                        "fields": ours,
                        "classes": ("collapse",),
                        "description": FIELDSET_DESCRIPTION,
                    },
                )
            )
        return fieldsets

    def _status_fields(self) -> list[str]:
        return [f for f in SEED_FIELD_NAMES if model_has_field(self.model, f)]

    def _extra_fields(self) -> list[str]:
        return list(_EXTRA_READONLY)

    def _run_fields(self) -> list[str]:
        """The model's fields that runs write (the seed's four, and those of
        ``DbElementsTaskMixin``)."""
        names = (*SEED_FIELD_NAMES, *LIFECYCLE_FIELD_NAMES)
        return [name for name in names if model_has_field(self.model, name)]

    @staticmethod
    def _progress_text(obj: models.Model) -> str:
        if getattr(obj, "db_elements_status", None) != TaskStatus.RUNNING:
            return ""
        parts = []
        done = getattr(obj, "db_elements_progress_done", None)
        total = getattr(obj, "db_elements_progress_total", None)
        if total:
            parts.append(f"{done or 0}/{total} tables")
        start = getattr(obj, "db_elements_start_time", None)
        if start:
            seconds = int((database_now(writes_to(obj)) - start).total_seconds())
            elapsed = f"{seconds // 60}m {seconds % 60:02d}s"
            parts.append(f"{QUEUED_DETAIL} {elapsed}" if is_queued(obj) else elapsed)
        if is_stale(obj):
            parts.append(STALE_DETAIL)
        return ", ".join(parts)

    @property
    def media(self) -> Any:
        extra = forms.Media(
            js=["thoth_db_elements/status.js"],
            css={"all": ["thoth_db_elements/status.css"]},
        )
        return super().media + extra

    # -- URLs: status JSON and log viewer ---------------------------------
    def _url_name(self, suffix: str) -> str:
        opts = self.model._meta
        return f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{suffix}"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        prefix = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        ours = [
            path(
                "db-elements/status/",
                wrap(self.db_elements_status_view),
                name=f"{prefix}_db_elements_status",
            ),
            path(
                "<path:object_id>/db-elements/logs/",
                wrap(self.db_elements_logs_view),
                name=f"{prefix}_db_elements_logs",
            ),
        ]
        return ours + list(super().get_urls())

    def _status_row(self, obj: models.Model) -> dict[str, Any]:
        return {
            "id": obj.pk,
            "status": getattr(obj, "db_elements_status", ""),
            "label": dict(TaskStatus.choices).get(
                getattr(obj, "db_elements_status", ""), ""
            ),
            "detail": self._progress_text(obj),
            "done": getattr(obj, "db_elements_progress_done", None),
            "total": getattr(obj, "db_elements_progress_total", None),
            "error": getattr(obj, "db_elements_error", ""),
        }

    def db_elements_status_view(self, request: HttpRequest) -> HttpResponse:
        """``?ids=1,2,3`` -> the rows' status, label and progress as JSON."""
        return _status_view(self, request)

    def db_elements_logs_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        """The row's run logs, newest first; ``?file=`` picks one by name."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such database.")
        if not self.has_view_or_change_permission(
            request, obj
        ) or not _may_read_catalogue(request, obj):
            raise PermissionDenied
        files = self._log_files(obj)
        by_name = {f.name: f for f in files}
        wanted = request.GET.get("file")
        # Only names from the listing are honoured: no request path reaches open().
        chosen = by_name.get(str(wanted)) if wanted else (files[0] if files else None)
        if wanted and chosen is None:
            raise Http404("No such log file for this database.")
        content = ""
        truncated = False
        if chosen is not None:
            content, truncated = _log_tail(chosen)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Run logs of {obj}",
            "opts": self.model._meta,
            "original": obj,
            "files": files,
            "chosen": chosen,
            "content": content,
            "truncated": truncated,
        }
        return TemplateResponse(
            request, "admin/thoth_db_elements/log_viewer.html", context
        )

    @staticmethod
    def _log_files(obj: models.Model) -> list[Path]:
        """Log files this library wrote for ``obj``, newest first."""
        return run_log_files(obj.pk, log_label(obj))


def _may_read_catalogue(request: HttpRequest, obj: models.Model) -> bool:
    """Whether the user may see ``obj``'s catalogue: view (or change)
    permission on its table and column models. The run logs name tables
    and columns, and quote the annotations of those a run deleted."""
    catalogue = catalogue_for(obj)
    user = request.user
    return all(
        any(
            user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )
        for opts in (catalogue.table._meta, catalogue.column._meta)
    )


def _status_view(
    model_admin: DbElementsAdminMixin, request: HttpRequest
) -> HttpResponse:
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    raw = str(request.GET.get("ids", ""))
    ids = _keys(model_admin.model, raw.split(",")[:500])
    # Live progress: from where the runs write it, not from a replica that
    # may be behind.
    primary = router.db_for_write(model_admin.model)
    rows = model_admin.get_queryset(request).using(primary).filter(pk__in=ids)
    return JsonResponse({"rows": [model_admin._status_row(r) for r in rows]})


def _lock_rows(model: type[models.Model], using: str, keys: list[Any]) -> None:
    """Lock the ``SqlDb`` rows ``keys`` before deleting them: Django deletes
    a row's tables, columns and relationships first and the row last, and a
    sync of the row holds its key (PostgreSQL) or a share of it (MariaDB's
    key checks) while it writes those very rows. Waiting here, before
    touching any of them, the delete comes after the sync instead of
    deadlocking with it.

    ``keys`` come in the database's order (its collation's, for text), and
    are locked in that order, a statement per as many as one may hold: two
    deleters lock their common rows in the same order.
    """
    rows = model._base_manager.using(using).select_for_update()
    for chunk in in_lists(keys, using):
        list(rows.filter(pk__in=chunk).order_by("pk").values_list("pk", flat=True))


def _keys(model: type[models.Model], parts: list[str]) -> list[Any]:
    """The parts that are keys of ``model`` (``key_of``), the others left out."""
    keys = (key_of(model, part.strip()) for part in parts)
    return [key for key in keys if key is not None]


class DbElementsModelAdmin(DbElementsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ready ``ModelAdmin`` with the mixin, for hosts without their own."""


def _log_tail(path: Path) -> tuple[str, bool]:
    """The last ``_MAX_LOG_BYTES`` of a log file, and whether it is longer:
    only that much is read, however large the file grew."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - _MAX_LOG_BYTES))
        data = handle.read(_MAX_LOG_BYTES)
    return data.decode("utf-8", errors="replace"), size > _MAX_LOG_BYTES
