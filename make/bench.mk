# help-group: develop
.PHONY: bench
# soak.py is left out: it is `make soak` (minutes, bounded by SOAK_MAX_SECONDS), a load test, not a ratio.
BENCH_SCRIPTS := $(filter-out bench/soak.py,$(wildcard bench/*.py))

bench: $(STAMP) ## Benchmarks (not tests): streaming vs per-record, cold start and image size, batch and HTTP; prints ratios from one run
	@failed=""; for script in $(BENCH_SCRIPTS); do echo "== $$script"; $(PY) $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "missed a target or failed:$$failed" >&2; exit 1; fi
