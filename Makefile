# The two commands of the README. Each creates the virtual environment first, so either works on its own,
# in either order, on a fresh machine.
#   make train   install, then train the MedLiteNet bundle (embedded synthetic data unless DATASET is given)
#   make test    install with the dev extra (and the MONAI Label environment its server test uses), then run the
#                whole test suite (slow and real-data tests included)
#   make label   only the MONAI Label environment, .venv-label (see apps/monailabel/README.md)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The stamp changes with pyproject.toml, so editing dependencies reinstalls.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
BUNDLE ?= medlitenet
# Extra bundle overrides, e.g. ARGS="--epochs 50 --dataset_dir ../shared/data/kvasir-seg --datalist data_manifests/kvasir_seg.json"
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install label serve-label train test test-fast clean-venv

# MONAI Label lives in its own environment: it needs pydicom 2 where monai-lite's dicom-seg extra needs pydicom 3.
LABEL_VENV ?= .venv-label
LABEL_PY := $(LABEL_VENV)/bin/python
LABEL_STAMP := $(LABEL_VENV)/.installed-$(shell cat pyproject.toml apps/monailabel/requirements.txt | cksum | cut -d' ' -f1)
STUDIES ?= studies
MODELS ?= medlitenet

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

$(LABEL_STAMP): pyproject.toml apps/monailabel/requirements.txt
	test -x $(LABEL_PY) || $(PYTHON) -m venv $(LABEL_VENV)
	$(LABEL_PY) -m pip install --quiet --upgrade pip
	$(LABEL_PY) -m pip install --quiet -e . -r apps/monailabel/requirements.txt
	$(LABEL_PY) -m pip install --quiet --no-deps monailabel==0.8.5 pydicom-seg==0.4.1
	rm -f $(LABEL_VENV)/.installed-*
	touch $@

label: $(LABEL_STAMP)

# Serve bundles for annotation: make serve-label STUDIES=my_images MODELS=medlitenet,medlitenet_hippocampus
serve-label: $(LABEL_STAMP)
	PATH=$(abspath $(LABEL_VENV))/bin:$$PATH $(LABEL_PY) -m monailabel.main start_server --app apps/monailabel \
		--studies $(STUDIES) --conf models $(MODELS) --host 127.0.0.1 --port 8000

train: $(STAMP)
	$(PY) -m monai.bundle run training --config_file bundles/$(BUNDLE)/train.json $(ARGS)

test: $(STAMP) $(LABEL_STAMP)
	MONAI_LITE_LABEL_PYTHON=$(abspath $(LABEL_PY)) $(PY) -m pytest $(PYTEST_ARGS)

# Developer loop: skips the tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
