# Two commands matter: `make run` (the whole system) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PIP_INSTALL := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: install install-dev run serve test lint typecheck check-deploy bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q "setuptools<81" wheel

$(RUNTIME_STAMP): $(BIN)/python requirements.txt requirements-nodeps.txt constraints.txt
	$(PIP_INSTALL) -r requirements.txt
	# --no-deps: face_recognition names dlib, a 20-minute source build; dlib-bin provides it.
	$(PIP_INSTALL) --no-deps -r requirements-nodeps.txt
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

run: install
	bash scripts/run.sh

# Production: gunicorn, one worker per core, and the task queue (see README).
serve: install
	bash scripts/serve.sh

test: install-dev
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-heif-enc.sh
	$(BIN)/pytest $(PYTEST_ARGS)
	# face_recognition (dlib) stays a supported engine: enroll, train, identify and
	# reembed tests run again on it.
	FACE_ENGINE=dlib $(BIN)/pytest -m engine_dlib $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

check-deploy: install
	bash scripts/check-deploy.sh

bench: install-dev
	$(BIN)/python bench/engines.py
	$(BIN)/python bench/enroll.py
	$(BIN)/python bench/identify.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/consistency.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/openset.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
