# help-group: develop
.PHONY: bench
# soak.py is left out: it is `make soak` (minutes, bounded by SOAK_MAX_SECONDS), a load test, not a ratio.
BENCH_SCRIPTS := $(filter-out bench/soak.py bench/models.py,$(wildcard bench/*.py))
BENCH_LOGS := .cache/bench

# Each script prints its figures next to their goals and, when it misses one, a last line `missed: ...`.
# The goals are ratios measured in the same run (or sizes), never an absolute time; the last line of
# make bench names every goal missed, whatever was printed before it.
bench: $(STAMP) ## Benchmarks (not tests): cold start against a floor, image size, scoring against a lower bound, batch, HTTP
	@mkdir -p $(BENCH_LOGS); failed=""; for script in $(BENCH_SCRIPTS); do \
		name=$$(basename $$script .py); log=$(BENCH_LOGS)/$$name.log; echo "== $$script"; \
		{ $(PY) $$script; echo $$? > $$log.status; } 2>&1 | tee $$log; \
		if [ "$$(cat $$log.status)" != 0 ]; then \
			reason=$$(sed -n 's/^missed: //p' $$log | tail -n 1); \
			failed="$$failed; $$name: $${reason:-exit $$(cat $$log.status), see $$log}"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make bench missed$${failed#;}"; exit 1; fi; echo "make bench: every goal met"
