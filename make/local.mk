# Local AWS: the end-to-end demo, LocalStack without Docker, and the same suite on a LocalStack container.
.PHONY: run localstack-up localstack-down compose-test

LOCALSTACK_PORT ?= 4566
RUN_RIDES ?= 3000

run: $(STAMP) ## The whole pipeline on moto in-process (or AWS_ENDPOINT_URL): train, publish, stream rides, score, summary
	$(PY) scripts/run_demo.py --rides $(RUN_RIDES)

localstack-up: $(STAMP) ## Install (once, into .cache/localstack) and start LocalStack on 127.0.0.1:$(LOCALSTACK_PORT), no Docker
	$(PY) -m ride_scorer.tools.local.localstack up --port $(LOCALSTACK_PORT)
	@echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$(LOCALSTACK_PORT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1"

localstack-down: $(STAMP) ## Stop the LocalStack started by localstack-up (SIGTERM, then SIGKILL after 15 s)
	$(PY) -m ride_scorer.tools.local.localstack down

compose-test: $(STAMP) ## Needs Docker: the local-AWS integration suite against the pinned LocalStack image of docker-compose.yml
	docker compose up -d --wait localstack
	RIDE_SCORER_EXTERNAL_LOCALSTACK=http://127.0.0.1:$(LOCALSTACK_PORT) $(PY) -m pytest integration-tests/tools/test_local_pipeline_e2e.py integration-tests/tools/test_local_failures.py -k localstack; \
	status=$$?; docker compose down; exit $$status
