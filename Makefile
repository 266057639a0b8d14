# The two commands: `make run` (execute every notebook) and `make test` (lint + tests + notebooks).
# Each target creates .venv and installs the project on first use (Python 3.10+ needed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# tests draw off-screen; `make run` gives its kernels the inline backend (figures kept)
export MPLBACKEND := Agg
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-colab lab lint badges book clean help

help:
	@echo "make run   execute every notebook in order; executed copies and figures go to outputs/"
	@echo "make test  ruff, then pytest (unit tests and every notebook under nbval)"
	@echo "make test-colab run the notebooks' set-up cell in a fresh Colab-like venv (about a minute)"
	@echo "make lab   open JupyterLab on the notebooks"
	@echo "make badges rewrite the Colab badges (notebooks, README) and install lines from helpers/config.py"
	@echo "make book  build the browsable book from the committed notebooks into outputs/book/"
	@echo "make clean remove outputs/ and caches (keeps .venv and the demo-data cache)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the project and its dev tools into $(VENV) (first run only; a few minutes)..."
	$(BIN)/python -m pip install -qq -e '.[dev,book]'
	@touch $@

run: $(STAMP)
	@mkdir -p outputs/notebooks
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		MPLBACKEND=module://matplotlib_inline.backend_inline \
		$(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
			--output-dir outputs/notebooks "$$nb" || exit 1; \
	done
	@echo "Executed notebooks: $(CURDIR)/outputs/notebooks/  Figures, GIF, checkpoints: $(CURDIR)/outputs/"

lint: $(STAMP)
	$(BIN)/ruff check helpers tests notebooks benchmarks

test: lint
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg tests notebooks

# The set-up cell, run for real: a fresh venv that already has torch etc., an install from a
# release-tagged clone, nothing downloaded. Slow, so `make test` skips it; CI runs both.
test-colab: $(STAMP)
	$(BIN)/python -m pytest -m colab_install tests/test_colab_install.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

badges: $(STAMP)
	$(BIN)/python -m helpers.course.colab notebooks

# The notebooks as a site (Sphinx + MyST-NB), from their committed outputs; nothing is executed.
book: $(STAMP)
	$(BIN)/sphinx-build -q -c book . outputs/book
	@echo "The book: $(CURDIR)/outputs/book/index.html"

clean:
	rm -rf outputs .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
