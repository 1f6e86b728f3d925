# The two commands of the README. Each creates the virtual environment first, so either works on its own,
# in either order, on a fresh machine.
#   make train   install, then train the MedLiteNet bundle (embedded synthetic data unless DATASET is given)
#   make test    install with the dev extra, then run the whole test suite (slow and real-data tests included)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The stamp changes with pyproject.toml, so editing dependencies reinstalls.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
BUNDLE ?= medlitenet
# Extra bundle overrides, e.g. ARGS="--epochs 50 --dataset_dir ../shared/data/kvasir-seg --datalist data_manifests/kvasir_seg.json"
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train test test-fast clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

train: $(STAMP)
	$(PY) -m monai.bundle run training --config_file bundles/$(BUNDLE)/train.json $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Developer loop: skips the tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
