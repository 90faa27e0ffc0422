# One command each: `make demo`, `make test`, `make bench`, `make lint`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml $(addsuffix pyproject.toml,$(PLUGINS)) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=23" "setuptools>=64" wheel
	$(PY) -m pip install -q --no-build-isolation -e ".[dev]" $(addprefix -e ./,$(PLUGINS))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m klepto_core demo

lint: $(STAMP)
	$(VENV)/bin/ruff check klepto_core plugins tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --ignore-missing-imports --no-warn-unused-ignores $(wildcard plugins/*/klepto_*)

COV := --cov=klepto_core $(foreach p,$(PLUGINS),$(addprefix --cov=,$(notdir $(wildcard $(p)klepto_*))))

test: lint
	$(PY) -m pytest $(COV) --cov-report=term:skip-covered --cov-fail-under=90

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info plugins/*/*.egg-info
