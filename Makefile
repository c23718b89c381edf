# Everything a fresh machine needs: `make demo` and `make test` create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: demo test test-slow lint bench bench-quick gpu-check clean chromium

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# A real sweep on an embedded local Ray; results/demo is the demo's own and is replaced.
demo: $(STAMP)
	rm -rf results/demo
	$(BIN)/caviar run examples/demo.yaml

lint: $(STAMP)
	$(BIN)/ruff check caviar tests benchmarks examples
	$(BIN)/ruff format --check caviar tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# Unit tests in parallel; tests that need Ray share one local Ray per pytest process.
# Headless Chromium for the report and dashboard tests (Debian's packages; selenium drives it
# through chromium-driver).
chromium:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y chromium chromium-driver)

test: lint chromium
	$(BIN)/python -m pytest -q -m "not slow" -n $(PYTEST_WORKERS) --dist loadgroup

# The cases too slow for CI's budget.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# Every benchmark, rewriting benchmarks/RESULTS.md (sized to about 100 min on 2 quiet cores; it
# prints its estimate first, and RESULTS.md's head says how it is sized).
bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Every benchmark at its smoke-test size, into a scratch RESULTS.md (not the published one).
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick --results results/bench-quick/RESULTS.md

# caviar's GPU paths (CUDA mlp/cnn with amp, 4 trials at gpu: 0.25, fused on CUDA), < 10 min;
# on a machine without CUDA it says so in one line.
gpu-check: $(STAMP)
	$(BIN)/python -m benchmarks.gpu_check

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache
