# LLaRA++ — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench layer lint-infra loadtest clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) scripts/bench.py

layer: $(STAMP)
	$(PY) scripts/build_layer.py $(if $(BUNDLE),--bundle $(BUNDLE))

lint-infra:
	bash scripts/lint_infra.sh

loadtest: $(STAMP)
	$(PY) scripts/loadtest.py

clean:
	rm -rf .llara build dist
