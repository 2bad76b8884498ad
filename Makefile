# The two commands of the README: `make demo` and `make test`. Both create the environment
# (.venv, every version from requirements/constraints.txt) when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: env test demo benchmark clean-env

$(VENV)/.ready: requirements/constraints.txt tools/setup_env.sh setup.py
	VENV=$(VENV) bash tools/setup_env.sh

env: $(VENV)/.ready

test: env
	$(PY) -m pytest tests

demo: env
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tools/demo.sh

clean-env:
	rm -rf $(VENV)
