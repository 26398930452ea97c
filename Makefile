# Two commands do all set-up on a fresh machine:
#   make demo   — make a phantom cell, export it to TIFF, import it, print its summary, write a preview,
#                 find the cell from two painted planes (train, predict) and score it against the truth,
#                 measure the mitochondria (S/V against the membranes, coloured by S/V), split the nucleus into
#                 its sections and compare the density of the nuclear pores between them, find the pores by
#                 3D operations (pockets, pore masks), train the pore model on them and find the pores with it,
#                 their distribution, and score both routes against the truth
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
	$(BIN)/vemprof import $(EXAMPLE)/phantom.zarr/labels/mitochondria $(EXAMPLE)/imported.zarr --as-labels mitochondria
	$(BIN)/vemprof info $(EXAMPLE)/imported.zarr
	$(BIN)/vemprof preview $(EXAMPLE)/phantom.zarr --out $(EXAMPLE)/phantom.png
	$(BIN)/vemprof annotate-planes $(EXAMPLE)/phantom.zarr --from-labels cell --out scribbles --every 128
	$(BIN)/vemprof train $(EXAMPLE)/phantom.zarr --annotations scribbles --out $(EXAMPLE)/cell-model.zip --level 1 --overwrite
	$(BIN)/vemprof predict $(EXAMPLE)/phantom.zarr --model $(EXAMPLE)/cell-model.zip --prefix predicted_
	$(BIN)/vemprof evaluate $(EXAMPLE)/phantom.zarr --truth cell --pred predicted_cell
	$(BIN)/vemprof measure $(EXAMPLE)/phantom.zarr --labels mitochondria --cell cell --nucleus nucleus
	$(BIN)/vemprof correlate $(EXAMPLE)/phantom.zarr --table mitochondria --x dist_nearer_membrane_um --y sv_ratio_per_um
	$(BIN)/vemprof render $(EXAMPLE)/phantom.zarr --labels mitochondria --color-by sv_ratio_per_um \
		--out $(EXAMPLE)/mitochondria_sv.png --mesh $(EXAMPLE)/mitochondria_sv.glb
	$(BIN)/vemprof sections $(EXAMPLE)/phantom.zarr --nucleus nucleus
	$(BIN)/vemprof measure $(EXAMPLE)/phantom.zarr --labels pores --image none --sections sections
	$(BIN)/vemprof points $(EXAMPLE)/phantom.zarr --labels pores --surface nucleus --regions sections
	$(BIN)/vemprof compare $(EXAMPLE)/phantom.zarr --table pores --column knn8_mean_um --by section
	$(BIN)/vemprof pores $(EXAMPLE)/phantom.zarr --prefix found_ --steps pockets,masks,train,detect,distribute,score

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf $(VENV) $(EXAMPLE)
