# Two commands for a fresh machine: `make dashboard` and `make test`.
# Each creates .venv with Python >= 3.11, installs what it needs, and runs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= test
SAMPLE := data/sample/kestrel_salesforce_opportunities.csv

.PHONY: dashboard test lint messages install-dashboard install-test chromium screenshot sample benchmark clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "channelkpi needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.dashboard-installed: pyproject.toml $(VENV)/.python-ok
	$(PY) -m pip install --quiet -e ".[dashboard]"
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.python-ok
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@echo "$(EXTRAS)" > $@

install-dashboard: $(VENV)/.dashboard-installed
install-test: $(VENV)/.test-installed
	@grep -qx "$(EXTRAS)" $(VENV)/.test-installed || { $(PY) -m pip install --quiet -e ".[$(EXTRAS)]" && echo "$(EXTRAS)" > $(VENV)/.test-installed; }

# The browser tests drive Debian's chromium; Playwright's own browser download needs internet.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; \
		fi; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium could not be installed" >&2; exit 1; }

VOILA_PORT ?= 8866
VIEWERS    ?= 10

## make dashboard: the Voilà dashboard on the bundled sample export (http://127.0.0.1:8866)
# voila.py holds the settings (template, no tracebacks, cell timeout, kernels forked and shut
# down when their page closes); VIEWERS kernels are kept ready for a room opening it at once
# (VIEWERS=1 for yourself: about 75 MB less per kernel not kept)
dashboard: install-dashboard
	JUPYTER_PATH=$(CURDIR)/share/jupyter CHANNELKPI_VIEWERS=$(VIEWERS) $(VENV)/bin/voila notebooks/dashboard.ipynb --port=$(VOILA_PORT)

## make test: the whole test suite (unit, doctests, real exports, sample data, notebooks, browser)
test: install-test chromium
	$(PY) -m pytest $(PYTEST_ARGS)

## make lint: ruff's lint rules and formatting (configured in pyproject.toml)
lint: install-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## make screenshot: refresh docs/dashboard.png from the browser test
screenshot: install-test chromium
	CHANNELKPI_UPDATE_SCREENSHOT=1 $(PY) -m pytest tests/test_browser.py -k renders_offline

## make sample: regenerate data/sample from its seeded generator
sample: install-test
	$(PY) -m channelkpi.datasets data/sample

## make benchmark: KPI engine speed against a DuckDB SQL reference, loading memory (1 M deals),
## and ten viewers opening the dashboard at once (time to the first chart, memory)
benchmark: install-test chromium
	$(PY) benchmarks/kpi_engine.py
	$(PY) benchmarks/load_memory.py
	$(PY) benchmarks/viewers.py --viewers $(VIEWERS) --ready $(VIEWERS)

## make messages: collect the visible strings into channelkpi/locale/channelkpi.pot and add the
## new ones to the nl, de and fr catalogs (then translate the empty entries; tests/test_catalogs.py
## fails until every one is translated)
LOCALES := channelkpi/locale
# Babel is a dependency of channelkpi
PYBABEL ?= $(VENV)/bin/pybabel
messages:
	mkdir -p $(LOCALES)
	$(PYBABEL) extract --no-default-keywords -k _ -k gettext -k N_ --add-location=file --sort-output \
		--no-wrap --project=channelkpi --copyright-holder="channelkpi contributors" -o $(LOCALES)/channelkpi.pot channelkpi
	for lang in nl de fr; do \
		if [ -f $(LOCALES)/$$lang/LC_MESSAGES/channelkpi.po ]; then \
			$(PYBABEL) update --no-fuzzy-matching --ignore-obsolete --no-wrap -D channelkpi -l $$lang \
				-i $(LOCALES)/channelkpi.pot -d $(LOCALES); \
		else \
			$(PYBABEL) init --no-wrap -D channelkpi -l $$lang -i $(LOCALES)/channelkpi.pot -d $(LOCALES); \
		fi; \
	done

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
