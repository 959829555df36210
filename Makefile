# The README's two commands: `make run` (the embedded default benchmark) and `make test`. Both set up first.
.PHONY: setup run test perf clean

setup:
	@bash scripts/bootstrap

run: setup
	.venv/bin/storagebench run

test: setup
	.venv/bin/python -m pytest -q tests

perf: setup
	.venv/bin/python benchmarks/perf/compress.py
	.venv/bin/python benchmarks/perf/detectors.py

clean:
	rm -rf .venv results
