# The other two deployment modes on the streaming core: on-demand HTTP and batch scoring of files.
# Both use MODEL_LOCATION (a local MLflow model directory or s3:// prefix) and MODEL_SHA256 when set;
# without MODEL_LOCATION they use the default model (trained once from data/ into .cache/default-model).

SERVE_BIND ?= 127.0.0.1:8080
BATCH_INPUT ?= data/green_tripdata_2023-01.parquet
BATCH_OUTPUT ?= .cache/batch/predictions.parquet
# Shell prefix: MODEL_LOCATION as given, else the default model (a training failure stops the target).
WITH_MODEL = model="$${MODEL_LOCATION:-}"; \
	if [ -z "$$model" ]; then model=$$($(PY) -m lambda_function.default_model) || exit 1; fi; \
	MODEL_LOCATION="$$model"

.PHONY: serve batch

serve: $(STAMP) ## HTTP service on 127.0.0.1:8080 (SERVE_BIND): POST /predict, GET /health, via gunicorn
	@$(WITH_MODEL) BIND="$(SERVE_BIND)" \
		exec $(BIN)/gunicorn -c python:lambda_function.gunicorn_conf 'lambda_function.http_app:create_app()'

batch: $(STAMP) ## Score a parquet file: make batch BATCH_INPUT=path|s3://... BATCH_OUTPUT=path|s3://...
	@mkdir -p .cache/batch
	@$(WITH_MODEL) $(PY) -m lambda_function.batch --input "$(BATCH_INPUT)" --output "$(BATCH_OUTPUT)"
