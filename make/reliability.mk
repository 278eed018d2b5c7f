# Reliability (issue 7): the soak is long, so it is not part of `make test`.
# help-group: develop
SOAK_RIDES ?= 200000
SOAK_SHARDS ?= 4
SOAK_MAX_SECONDS ?= 1500

.PHONY: soak reliability

soak: $(STAMP) ## 200,000 real TLC rides through the local runner on moto (bounded by SOAK_MAX_SECONDS); prints throughput, iterator age, reconciliation
	$(PY) bench/soak.py --rides $(SOAK_RIDES) --shards $(SOAK_SHARDS) --max-seconds $(SOAK_MAX_SECONDS) --json .cache/soak.json

reliability: $(STAMP) ## Hostile-input, fault and reconciliation suites only
	$(PY) -m pytest tests/unit/core/test_hostile_decoding.py integration-tests/stream/test_hostile_handler.py integration-tests/tools/test_reconcile.py integration-tests/stream/test_faults.py
