# help-group: deploy
# Capacity and cost at a ride rate, from the measured figures and the dated prices (infra/capacity.py,
# docs/capacity.md). Reads two files; no AWS call. STREAM_MODE and TRACING are make deploy-infra's and
# make deploy's variables (make/deploy.mk), so the plan and the deployment name the same settings.
RIDES_PER_SECOND ?=
RIDE_BYTES ?=
DEAD_LETTER_SHARE ?=

.PHONY: capacity

capacity: $(STAMP) ## Shards, event source settings, Lambda size, cost per million rides and per month: make capacity RIDES_PER_SECOND=N [RIDE_BYTES=n] [STREAM_MODE=PROVISIONED|ON_DEMAND]
	@$(PY) -m infra.capacity --rides-per-second='$(RIDES_PER_SECOND)' --stream-mode='$(or $(STREAM_MODE),PROVISIONED)' \
		--tracing='$(TRACING)' $(if $(RIDE_BYTES),--ride-bytes='$(RIDE_BYTES)') \
		$(if $(DEAD_LETTER_SHARE),--dead-letter-share='$(DEAD_LETTER_SHARE)')
