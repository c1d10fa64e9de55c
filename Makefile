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

VOILA_PORT ?= 8866

## make dashboard: the Voilà dashboard on the bundled sample export (http://127.0.0.1:8866)
dashboard: install-dashboard
	JUPYTER_PATH=$(CURDIR)/share/jupyter $(VENV)/bin/voila notebooks/dashboard.ipynb --no-browser \
		--port=$(VOILA_PORT) --Voila.ip=127.0.0.1 --template=channelkpi --theme=light \
		--show_tracebacks=False --NotebookClient.timeout=180

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
