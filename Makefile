# Developer entry points. Each target makes its own virtualenv (.venv) first.
VENV ?= .venv
PYTHON ?= $(shell ./scripts/find-python 3.12 3.13)
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

RUNTIME_STAMP := $(VENV)/.runtime

.PHONY: install demo test docs screenshots lint tox package-check clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[all]"
	touch $(RUNTIME_STAMP)

## The main job in one command: harvest a bundled demo database through a
## real django-q2 cluster, then print counts, status and log file.
demo: $(RUNTIME_STAMP)
	cd example_project && ../$(PY) manage.py migrate -v 0 && ../$(PY) manage.py demo

$(STAMP): pyproject.toml requirements/test.txt requirements/lint.txt requirements/docs.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]" -r requirements/test.txt -r requirements/lint.txt -r requirements/docs.txt tox build twine
	touch $(STAMP) $(RUNTIME_STAMP)

install: $(STAMP)

## The test command: the whole suite, Django's own database on SQLite,
## harvested databases on this machine's SQLite, PostgreSQL and MariaDB.
test: $(STAMP)
	THOTH_REQUIRE_DOCS=1 $(PY) -m pytest --cov=thoth_db_elements --cov-branch --cov-report=term --cov-fail-under=90
	$(PY) -m coverage json -q -o coverage.json
	$(PY) scripts/branch_coverage.py coverage.json 90

## The documentation site (MkDocs, warnings are errors) into site/.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

## Refresh the admin screenshots in docs/img from the browser test.
screenshots: $(STAMP)
	SCREENSHOT_DIR=docs/img $(PY) -m pytest tests/test_browser.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## Django 5.2 (Python 3.11) and 6.1 (Python 3.12) x SQLite, PostgreSQL, MariaDB.
tox: $(STAMP)
	$(VENV)/bin/tox run

## Build sdist and wheel, check them, install the wheel in a clean venv.
package-check: $(STAMP)
	rm -rf dist /tmp/thoth-db-elements-wheel-venv
	$(PY) -m build -q
	$(VENV)/bin/twine check --strict dist/*
	# The source package runs its own tests: what the Makefile and tox need is in it.
	tar tzf dist/*.tar.gz | sed 's,^[^/]*/,,' > /tmp/thoth-db-elements-sdist.txt
	for f in requirements/test.txt requirements/docs.txt requirements/lint.txt scripts/find-python \
		scripts/branch_coverage.py mkdocs.yml tox.ini Makefile tests/conftest.py; do \
		grep -qx "$$f" /tmp/thoth-db-elements-sdist.txt || { echo "sdist lacks $$f"; exit 1; }; done
	$(PYTHON) -m venv /tmp/thoth-db-elements-wheel-venv
	/tmp/thoth-db-elements-wheel-venv/bin/pip install -q dist/*.whl
	cd /tmp && /tmp/thoth-db-elements-wheel-venv/bin/python -c "import thoth_db_elements, thoth_db_elements.introspection; print('wheel ok', thoth_db_elements.__version__)"
	# Smoke harvest with the installed wheel (not the checkout) behind the example project.
	/tmp/thoth-db-elements-wheel-venv/bin/pip install -q "$$(ls dist/*.whl)[all]"
	rm -rf /tmp/thoth-db-elements-smoke && cp -r example_project /tmp/thoth-db-elements-smoke
	cd /tmp/thoth-db-elements-smoke && rm -f db.sqlite3 && DATABASE_URL=sqlite:///smoke.sqlite3 /tmp/thoth-db-elements-wheel-venv/bin/python manage.py migrate -v 0 \
		&& DATABASE_URL=sqlite:///smoke.sqlite3 /tmp/thoth-db-elements-wheel-venv/bin/python -c "import thoth_db_elements, sys; assert 'site-packages' in thoth_db_elements.__file__, thoth_db_elements.__file__" \
		&& DATABASE_URL=sqlite:///smoke.sqlite3 /tmp/thoth-db-elements-wheel-venv/bin/python manage.py demo

clean:
	rm -rf $(VENV) .tox dist build .mypy_cache .ruff_cache .pytest_cache
