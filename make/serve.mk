# The other two deployment modes on the streaming core: on-demand HTTP and batch scoring of files.
# Both use MODEL_LOCATION (a local MLflow model directory or s3:// prefix) and MODEL_SHA256, the digest that
# pins it (required; ALLOW_UNPINNED_MODEL=true skips it for local work). Without MODEL_LOCATION they use the
# default model (trained once from data/ into .cache/default-model), pinned by its own digest.

SERVE_BIND ?= 127.0.0.1:8080
BATCH_INPUT ?= data/green_tripdata_2023-01.parquet
BATCH_OUTPUT ?= .cache/batch/predictions.parquet
# Shell prefix: MODEL_LOCATION and MODEL_SHA256 as given, else the default model and its digest (a training
# failure stops the target).
WITH_MODEL = model="$${MODEL_LOCATION:-}"; sha256="$${MODEL_SHA256:-}"; \
	if [ -z "$$model" ]; then model=$$($(PY) -m ride_scorer.tools.default_model) || exit 1; \
		sha256=$$($(PY) -m ride_scorer.tools.default_model --sha256) || exit 1; fi; \
	MODEL_LOCATION="$$model" MODEL_SHA256="$$sha256"

.PHONY: serve batch

serve: $(STAMP) ## HTTP service on 127.0.0.1:8080 (SERVE_BIND): POST /predict, GET /health, via gunicorn
	@$(WITH_MODEL) BIND="$(SERVE_BIND)" \
		exec $(PY) -m ride_scorer.http_service.gunicorn_conf 'ride_scorer.http_service.app:create_app()'

batch: $(STAMP) ## Score a parquet file: make batch BATCH_INPUT=path|s3://... BATCH_OUTPUT=path|s3://...
	@mkdir -p .cache/batch
	@$(WITH_MODEL) $(PY) -m ride_scorer.batch --input "$(BATCH_INPUT)" --output "$(BATCH_OUTPUT)"

# The batch/HTTP image (Dockerfile.batch): runtime + batch + serve extras, locked with hashes for its
# Python 3.12 at the dev venv's versions (the versions the tests ran with), like the Lambda image's lock.
BATCH_LOCK := requirements/batch-http.txt
BATCH_IMAGE ?= ride-scorer-batch

.PHONY: lock-batch build-batch

lock-batch: $(STAMP) ## Lock the batch/HTTP image's requirements (requirements/batch-http.txt)
	@mkdir -p .cache
	$(PY) -m pip freeze --exclude-editable > .cache/dev-versions.txt
	$(BIN)/uv pip compile pyproject.toml --extra batch --extra serve $(LOCK_PLATFORM) --generate-hashes \
		--no-header --constraint .cache/dev-versions.txt --output-file $(BATCH_LOCK)

build-batch: ## Build the batch/HTTP image with Docker (one image: HTTP by default, batch with another command)
	@command -v docker >/dev/null || (echo "make build-batch needs Docker" && exit 1)
	docker build --platform linux/amd64 -f Dockerfile.batch -t $(BATCH_IMAGE):$(IMAGE_TAG) .
