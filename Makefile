# The two commands of the README: `make demo` and `make test`. Both create the environment
# (.venv, every version from requirements/constraints.txt) when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: env lint test test-slow demo study benchmark clean-env

$(VENV)/.ready: requirements/constraints.txt tools/setup_env.sh setup.py
	VENV=$(VENV) bash tools/setup_env.sh

env: $(VENV)/.ready

lint: env
	$(VENV)/bin/ruff check .

test: env lint  # everything but the end-to-end runs marked slow: about 5 minutes on 2 cores
	$(PY) -m pytest tests -m "not slow"

test-slow: env  # the end-to-end runs: torchrun, mim, Runner training and resume (CI runs both)
	$(PY) -m pytest tests -m slow

demo: env
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tools/demo.sh

study: env  # the demo for 3 training seeds: benchmarks/demo_study.json (about 30 minutes)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tools/demo_study.sh

benchmark: env  # Table 4, training step, FLOPs, diffusion: benchmarks/<device>.json
	$(PY) tools/benchmark.py

clean-env:
	rm -rf $(VENV)
