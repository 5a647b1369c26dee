# Two commands set everything up on a fresh machine:
#   make demo   – creates .venv, installs CivicPulse, seeds a demo city, serves it
#   make test   – creates .venv, installs the dev tools, runs lint, types, the docs build and the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs pytest bench clean browser-deps

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/civicpulse demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# axe-core (accessibility check in tests/browser) comes from npm, pinned by package-lock.json
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund; \
	else echo "npm not found: the accessibility tests will skip (and fail when CI=true)"; fi

browser-deps: node_modules/axe-core/axe.min.js

# two workers, one test file each at a time, so a file's module fixtures are made once
pytest: $(STAMP) browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadfile

# the docs by reader (mkdocs.yml); --strict fails on a broken link, anchor or page left out
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint docs pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_voices.py

clean:
	rm -rf $(VENV) civicpulse-data test-artifacts node_modules site
