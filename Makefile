# Two commands do all set-up on a fresh machine:
#   make demo   — make a phantom cell, export it to TIFF, import it, print its summary, write a preview,
#                 paint scribbles and partly painted planes from its truth (as a person would), then profile
#                 it with one command (vemprof profile, pipelines/demo.yaml): cell vs resin, nucleus and
#                 mitochondria, measurements, distances, correlations, nuclear pores, their distribution by
#                 section, and the HTML report (example/phantom_profile/report.html); score what it found
#   make test   — run the test suite
# Each creates .venv and installs vemprof with what it needs, the deep-learning extra
# included: `pip install torch==2.13.0` comes first (a CPU build lies on disk; any other
# version, or an unpinned torch, pulls a multi-GB CUDA build).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := example

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test,learn]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vemprof synth $(EXAMPLE)/phantom.zarr --overwrite --no-preview
	$(BIN)/vemprof export $(EXAMPLE)/phantom.zarr $(EXAMPLE)/phantom.tif
	$(BIN)/vemprof import $(EXAMPLE)/phantom.tif $(EXAMPLE)/imported.zarr --overwrite
	$(BIN)/vemprof info $(EXAMPLE)/imported.zarr
	$(BIN)/vemprof preview $(EXAMPLE)/phantom.zarr --out $(EXAMPLE)/phantom.png
	$(BIN)/vemprof annotate-planes $(EXAMPLE)/phantom.zarr --from-labels cell --out cell_scribbles \
		--every 64 --fraction 0.3 --overwrite
	$(BIN)/vemprof annotate-planes $(EXAMPLE)/phantom.zarr --from-labels nucleus,mitochondria \
		--out organelle_annotations --every 10 --fraction 0.5 --overwrite
	$(BIN)/vemprof profile $(EXAMPLE)/phantom.zarr --pipeline pipelines/demo.yaml --prefix found_
	$(BIN)/vemprof evaluate $(EXAMPLE)/phantom.zarr --truth cell --pred found_cell
	$(BIN)/vemprof evaluate $(EXAMPLE)/phantom.zarr --truth nucleus --pred found_nucleus
	$(BIN)/vemprof evaluate $(EXAMPLE)/phantom.zarr --truth mitochondria --pred found_mitochondria --instances
	$(BIN)/vemprof evaluate $(EXAMPLE)/phantom.zarr --truth pores --pred found_pores --points --tolerance-nm 60

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf $(VENV) $(EXAMPLE)
