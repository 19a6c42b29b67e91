# The README's commands. Each sets up what it needs (.venv, the database) first.
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Installed again whenever a requirements file changes.
INSTALLED := $(VENV)/.installed

STAGE ?= naive
export STAGE

.PHONY: help demo test serve seed docs lint

help:  ## List the commands.
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(INSTALLED): requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(INSTALLED)  ## Set up, seed if empty, replay the same load on every stage, print the report.
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_posts --if-empty
	$(PY) manage.py replay

test: $(INSTALLED)  ## Set up and run the whole test suite (DATABASE_URL picks the database).
	$(PY) -m pytest

serve: $(INSTALLED)  ## Migrate, seed if empty, serve $STAGE with gunicorn on 127.0.0.1:8000.
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_posts --if-empty
	@echo "Serving stage '$(STAGE)' on http://127.0.0.1:8000/api/ (Ctrl-C stops it)"
	$(VENV)/bin/gunicorn project.wsgi

seed: $(INSTALLED)  ## Re-seed the default data from scratch (5,000 posts, 5,000 comments, 20 users).
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_posts --reset

docs: $(INSTALLED)  ## Refresh the code and figures the walkthrough and the README include.
	$(PY) docs/sync.py

lint: $(INSTALLED)  ## Check style with ruff.
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
