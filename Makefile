# Developer entry points. Each target makes its own virtualenv (.venv) first.
VENV ?= .venv
PYTHON ?= $(shell ./scripts/find-python 3.12 3.13)
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

RUNTIME_STAMP := $(VENV)/.runtime

.PHONY: install demo test screenshots lint tox package-check clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[all]"
	touch $(RUNTIME_STAMP)

## The main job in one command: harvest a bundled demo database through a
## real django-q2 cluster, then print counts, status and log file.
demo: $(RUNTIME_STAMP)
	cd example_project && ../$(PY) manage.py migrate -v 0 && ../$(PY) manage.py demo

$(STAMP): pyproject.toml requirements/test.txt requirements/lint.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]" -r requirements/test.txt -r requirements/lint.txt tox build twine
	touch $(STAMP) $(RUNTIME_STAMP)

install: $(STAMP)

## The test command: the whole suite, Django's own database on SQLite,
## harvested databases on this machine's SQLite, PostgreSQL and MariaDB.
test: $(STAMP)
	$(PY) -m pytest

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
	$(PYTHON) -m venv /tmp/thoth-db-elements-wheel-venv
	/tmp/thoth-db-elements-wheel-venv/bin/pip install -q dist/*.whl
	cd /tmp && /tmp/thoth-db-elements-wheel-venv/bin/python -c "import thoth_db_elements, thoth_db_elements.models; print('wheel ok', thoth_db_elements.__version__)"

clean:
	rm -rf $(VENV) .tox dist build .mypy_cache .ruff_cache .pytest_cache
