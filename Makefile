# Two commands for a fresh machine: `make dashboard` and `make test`.
# Each creates .venv with Python >= 3.11, installs what it needs, and runs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SAMPLE := data/sample/kestrel_salesforce_opportunities.csv

.PHONY: dashboard test install-dashboard install-test sample benchmark clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "channelkpi needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.dashboard-installed: pyproject.toml $(VENV)/.python-ok
	$(PY) -m pip install --quiet -e ".[dashboard]"
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.python-ok
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

install-dashboard: $(VENV)/.dashboard-installed
install-test: $(VENV)/.test-installed

## make dashboard: the KPIs of the bundled sample export
dashboard: install-dashboard
	$(VENV)/bin/channelkpi inspect $(SAMPLE)

## make test: the whole test suite (unit, doctests, real exports, sample data)
test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make sample: regenerate data/sample from its seeded generator
sample: install-test
	$(PY) -m channelkpi.datasets data/sample

## make benchmark: KPI engine speed against a DuckDB SQL reference, and loading memory (1 M deals)
benchmark: install-test
	$(PY) benchmarks/kpi_engine.py
	$(PY) benchmarks/load_memory.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
