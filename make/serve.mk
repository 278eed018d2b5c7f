# The other two deployment modes on the streaming core: on-demand HTTP and batch scoring of files.
# Both use MODEL_LOCATION (a local MLflow model directory or s3:// prefix) and MODEL_SHA256, the digest that
# pins it (required; ALLOW_UNPINNED_MODEL=true skips it for local work). Without MODEL_LOCATION they use the
# registered ride-duration@champion of the project's tracking store (MLFLOW_TRACKING_URI, else mlflow.db) when
# there is one, else the default model (trained once from data/ into .cache/default-model), each pinned by
# the digest of its files. Either way the first line printed says which model: name, version or run, digest.
# help-group: run

SERVE_BIND ?= 127.0.0.1:8080
BATCH_INPUT ?= data/green_tripdata_2023-01.parquet
BATCH_OUTPUT ?= .cache/batch/predictions.parquet
# Shell prefix: MODEL_LOCATION and MODEL_SHA256 as given, else the champion or the default model and its
# digest (a failure to find or train one stops the target).
WITH_MODEL = if [ -z "$${MODEL_LOCATION:-}" ] && [ -n "$${MODEL_SHA256:-}" ]; then \
		echo "MODEL_SHA256 is set but MODEL_LOCATION is not: give the model it pins, or neither for the champion or default model" >&2; exit 2; fi; \
	if [ -n "$${MODEL_LOCATION:-}" ]; then \
		echo "model: MODEL_LOCATION=$$MODEL_LOCATION, sha256 $${MODEL_SHA256:-(not pinned)}" >&2; \
	else chosen=$$($(PY) -m tools.default_model --env) || exit 1; eval "$$chosen"; fi; \
	MODEL_LOCATION="$$MODEL_LOCATION" MODEL_SHA256="$${MODEL_SHA256:-}"

.PHONY: serve batch

serve: $(STAMP) ## HTTP service on 127.0.0.1:8080 (SERVE_BIND): POST /predict, GET /health, via gunicorn
	@$(WITH_MODEL) BIND="$(SERVE_BIND)" \
		exec $(PY) -m ride_scorer.http_service.gunicorn_conf 'ride_scorer.http_service.app:create_app()'

batch: $(STAMP) ## Score a parquet file: make batch BATCH_INPUT=path|s3://... BATCH_OUTPUT=path|s3://...
	@if [ -d "$(BATCH_INPUT)" ]; then echo "error: BATCH_INPUT=$(BATCH_INPUT) is a folder: score every parquet file in it with $(PY) -m ride_scorer.batch --input-prefix $(BATCH_INPUT) --output-prefix .cache/batch/scored --model DIR --model-sha256 DIGEST" >&2; exit 2; fi
	@mkdir -p .cache/batch
	@$(WITH_MODEL) $(PY) -m ride_scorer.batch --input "$(BATCH_INPUT)" --output "$(BATCH_OUTPUT)"

# The batch/HTTP image (Dockerfile.batch): runtime + batch + serve extras, locked with hashes for its
# Python 3.12 at the dev venv's versions (the versions the tests ran with), like the Lambda image's lock.
BATCH_LOCK := requirements/batch-http.txt
BATCH_IMAGE ?= ride-scorer-batch

.PHONY: lock-batch build-batch

lock-batch: $(STAMP) ## [develop] Lock the batch/HTTP image's requirements (requirements/batch-http.txt)
	@mkdir -p .cache
	$(PY) -m pip freeze --exclude-editable > .cache/dev-versions.txt
	$(BIN)/uv pip compile pyproject.toml --extra batch --extra serve $(LOCK_PLATFORM) --generate-hashes \
		--no-header --constraint .cache/dev-versions.txt --output-file $(BATCH_LOCK)

build-batch: ## [deploy] Build the batch/HTTP image with Docker (one image: HTTP by default, batch with another command)
	@command -v docker >/dev/null || (echo "make build-batch needs Docker" && exit 1)
	docker build --platform linux/amd64 --provenance=false -f Dockerfile.batch -t $(BATCH_IMAGE):$(IMAGE_TAG) .
