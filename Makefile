# Two commands do all set-up on a fresh machine with only python3 (3.11+) and git:
#   make demo   create .venv, install, mine the built-in demo repository, write demo/report.html
#   make test   create .venv, install, run ruff, mypy, the docs build and the full test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck docs browser bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "aiimpact needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aiimpact demo -o demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# mypy on src/ (settings in pyproject.toml: the public API modules fully annotated)
typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir .site

test: lint typecheck docs browser
	$(BIN)/pytest

# The report test renders the page in headless Chromium (Debian's package). Best effort: as
# root with apt, install it; otherwise that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& (apt-get install -y -q chromium >/dev/null 2>&1 || \
		    (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
		|| echo "note: Chromium not installed; the report's browser test will be skipped"; } || true

bench: $(STAMP)
	$(BIN)/python benchmarks/mine.py

clean:
	rm -rf $(VENV) .site demo .pytest_cache .mypy_cache
