# Every target installs what it needs into .venv, starting from a bare python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test test-all demo bench lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,dev,fast]"
	touch $(STAMP)

# The docs' tools (Sphinx, MyST, the theme, matplotlib) have a stamp of their
# own: `make docs` alone needs neither the test tools nor numba.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# Tests run in one process per core (pytest-xdist), idle workers stealing tests
# from busy ones: numba compiles the kernels on a new machine in whichever test
# first needs them, and the suite is CPU-bound.
# Bytecode is cached even where the environment says not to: the tests start
# dozens of Python processes (process pools, fresh interpreters), each of which
# would otherwise compile the package again.
test: $(STAMP)  ## fast tests and doctests (about 3.5 minutes on a new 2-core machine)
	PYTHONDONTWRITEBYTECODE= LAZYARRAY_HYPOTHESIS_PROFILE=ci \
		$(BIN)/python -m pytest -q -n auto --dist worksteal

test-all: $(STAMP)  ## everything, slow big-data checks included
	PYTHONDONTWRITEBYTECODE= LAZYARRAY_THOROUGH=1 LAZYARRAY_HYPOTHESIS_PROFILE=default \
		$(BIN)/python -m pytest -q -n auto --dist worksteal -m "slow or not slow"

demo: $(STAMP)  ## generate sample data and run the main job end to end
	$(BIN)/python benchmarks/demo.py

bench: $(STAMP)  ## benchmarks against hand loops and Dask, small evaluations, streams, xarray
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/bench_iteration.py
	$(BIN)/python benchmarks/bench_sampling.py
	$(BIN)/python benchmarks/bench_mapfiles.py
	$(BIN)/python benchmarks/bench_xarray.py

lint: $(STAMP)
	$(BIN)/ruff check --line-length 100 lazyarray tests benchmarks
	$(BIN)/mypy lazyarray

# A fresh build each time, warnings as errors: the gallery's pictures are drawn
# again (from benchmarks/RESULTS.md too), and no warning hides in a page left
# from an earlier build. The site reads offline: open docs/_build/html/index.html.
docs: $(DOCS_STAMP)  ## the documentation site, into docs/_build/html
	rm -rf docs/_build
	MPLBACKEND=Agg $(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) benchmarks/data .pytest_cache .hypothesis docs/_build
