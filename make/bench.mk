.PHONY: bench
bench: $(STAMP) ## Benchmarks (not tests): prints ratios measured in one run; every bench/*.py in turn
	@set -e; for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done
