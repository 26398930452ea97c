# Two commands do all set-up on a fresh machine:
#   make demo   — make a phantom cell, export it to TIFF, import it, print its summary, write a preview
#   make test   — run the test suite
# Each creates .venv and installs vemprof with what it needs. When the deep-learning extra
# is added, `pip install torch==2.13.0` must come first (a CPU build lies on disk; any
# other version pulls a multi-GB CUDA build).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := example

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vemprof synth $(EXAMPLE)/phantom.zarr --overwrite --no-preview
	$(BIN)/vemprof export $(EXAMPLE)/phantom.zarr $(EXAMPLE)/phantom.tif
	$(BIN)/vemprof import $(EXAMPLE)/phantom.tif $(EXAMPLE)/imported.zarr --overwrite
	$(BIN)/vemprof import $(EXAMPLE)/phantom.zarr/labels/mitochondria $(EXAMPLE)/imported.zarr --as-labels mitochondria
	$(BIN)/vemprof info $(EXAMPLE)/imported.zarr
	$(BIN)/vemprof preview $(EXAMPLE)/phantom.zarr --out $(EXAMPLE)/phantom.png

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf $(VENV) $(EXAMPLE)
