# Local AWS: the end-to-end demo, LocalStack without Docker, and the same suite on a LocalStack container.
# help-group: run
.PHONY: run localstack-up localstack-down compose-test sam-env

LOCALSTACK_PORT ?= 4566
RUN_RIDES ?= 3000

# KEEP=1 leaves moto's server (in its own process), the streams, queues and model up, and prints how to stop them.
run: $(STAMP) ## The whole pipeline on moto in-process (or AWS_ENDPOINT_URL): train, publish, stream rides, score, summary [KEEP=1]
	$(PY) scripts/run_demo.py --rides $(RUN_RIDES) $(if $(filter-out 0,$(KEEP)),--keep)

# It says what it is doing (installing, starting, ready), then the line to paste. Loopback only: a Docker
# container cannot reach it (for `sam local invoke` and docker run, see docs/deployment.md).
localstack-up: $(STAMP) ## Install (once, into .cache/localstack) and start LocalStack on 127.0.0.1:$(LOCALSTACK_PORT) (LOCALSTACK_PORT), no Docker
	@$(PY) -m tools.local.localstack up --port $(LOCALSTACK_PORT) >/dev/null
	@echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$(LOCALSTACK_PORT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1"

localstack-down: $(STAMP) ## Stop the LocalStack started by localstack-up (SIGTERM, then SIGKILL after 15 s)
	$(PY) -m tools.local.localstack down

compose-test: $(STAMP) ## [develop] Needs Docker: the local-AWS integration suite against the pinned LocalStack image of docker-compose.yml
	docker compose up -d --wait localstack
	RIDE_SCORER_EXTERNAL_LOCALSTACK=http://127.0.0.1:$(LOCALSTACK_PORT) $(PY) -m pytest integration-tests/tools/test_local_pipeline_e2e.py integration-tests/tools/test_local_failures.py -k localstack; \
	status=$$?; docker compose down; exit $$status

# The function's environment for its image run locally, from a published model: events/env.json for
# `sam local invoke --env-vars` and events/function.env for `docker run --env-file` (both git-ignored).
# SAM_ENDPOINT is the endpoint as the function's container reaches it: the LocalStack container of
# docker-compose.yml on its network (as in events/local-endpoint.json); empty for AWS.
SAM_ENDPOINT ?= http://localstack:4566
PREFIX ?= ride-scorer

sam-env: $(STAMP) ## [deploy] Write events/env.json and events/function.env: make sam-env MODEL_RUN_ID=<run> MODEL_SHA256=<digest> [SAM_ENDPOINT=]
	@test -n "$(MODEL_RUN_ID)" || { echo "MODEL_RUN_ID is not set: the run id make publish-model printed" >&2; exit 2; }
	@test -n "$(MODEL_SHA256)" || { echo "MODEL_SHA256 is not set: the digest make publish-model printed" >&2; exit 2; }
	@$(PY) -m infra.sam_env --run-id "$(MODEL_RUN_ID)" --sha256 "$(MODEL_SHA256)" --prefix "$(PREFIX)" \
		--model-prefix "$(or $(MODEL_PREFIX),models/ride-duration)" --endpoint "$(SAM_ENDPOINT)"
