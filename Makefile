# Two commands for a fresh machine: `make demo` (set up + the main job offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, installed FIRST so that nothing pulls a multi-GB CUDA build.
# On a GPU machine: make TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu128" setup
TORCH_SPEC ?= torch==2.13.0
# The demo: GRPO on one-digit products (reasoning-gym, offline), then the held-out before/after.
DEMO_CONFIG ?= examples/products-reasoning.toml
DEMO_PROMPTS ?= builtin:gym:products
DEMO_OUT ?= runs/products-demo

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export MPLBACKEND := Agg

.PHONY: setup demo test test-fast lint clean

$(VENV)/.installed: pyproject.toml requirements-offline.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[train,dev,code,gym,judge]'
	$(PY) -m pip install --quiet --no-deps -r requirements-offline.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/grpo-rewards train $(DEMO_CONFIG) --set output.dir=$(DEMO_OUT) --overwrite
	$(VENV)/bin/grpo-rewards bench $(DEMO_CONFIG) --prompts $(DEMO_PROMPTS) --limit 32 \
		--compare $(DEMO_OUT)/final --output $(DEMO_OUT)-bench --overwrite

# The checks that keep the layers and the style: seconds, so every test run does them first.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/check_layers.py

test: setup lint
	$(PY) -m pytest -q

test-fast: setup lint
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) runs reports .pytest_cache
