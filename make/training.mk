# Training and model publishing (training/): train on the bundled TLC months, track in MLflow, publish to S3.
# Tracking defaults to sqlite:///<project>/mlflow.db with artifacts in mlartifacts/ (MLFLOW_TRACKING_URI overrides).
# help-group: train

TRAIN_DATA ?= data/green_tripdata_2021-01.parquet
VALIDATE_DATA ?= data/green_tripdata_2021-02.parquet
MODEL_KIND ?= linear
MODEL_PREFIX ?= models/ride-duration
# The month `make promote` scores the champion and the candidate on: one neither was trained or validated on.
HOLDOUT_DATA ?= data/green_tripdata_2023-02.parquet
MLFLOW_UI_PORT ?= 5000

.PHONY: train publish-model models promote mlflow-ui

train: $(STAMP) ## Train (MODEL_KIND=linear|forest) on TRAIN_DATA, validate on VALIDATE_DATA; prints run id, RMSE, model location
	$(PY) -m training train --train "$(TRAIN_DATA)" --validate "$(VALIDATE_DATA)" --model "$(MODEL_KIND)"

# MODEL_REF names the model as MLflow does: a run id, models:/ride-duration/<version> or models:/ride-duration@champion.
publish-model: $(STAMP) ## Upload a model to S3 and tag its registry version: make publish-model MODEL_REF=models:/ride-duration@champion (or RUN_ID=...) MODEL_BUCKET=...
	@test -n "$(MODEL_REF)$(RUN_ID)" || { echo "MODEL_REF is not set: a run id, models:/ride-duration/<version> or models:/ride-duration@champion (or set RUN_ID)" >&2; exit 2; }
	@test -n "$(MODEL_BUCKET)" || { echo "MODEL_BUCKET is not set: the bucket the scorer reads models from" >&2; exit 2; }
	$(PY) -m training publish --model "$(or $(MODEL_REF),$(RUN_ID))" --bucket "$(MODEL_BUCKET)" --prefix "$(MODEL_PREFIX)"

models: $(STAMP) ## The registered versions and aliases, with RMSE and MAE by distance band side by side
	@$(PY) -m training models

# Refused (exit 1) when the candidate's RMSE on HOLDOUT_DATA is worse than the champion's, unless YES=1.
promote: $(STAMP) ## Compare MODEL_VERSION (default: the @challenger) with @champion on $(HOLDOUT_DATA), then promote it (YES=1 if worse)
	@$(PY) -m training promote $(if $(MODEL_VERSION),--version "$(MODEL_VERSION)") --holdout "$(HOLDOUT_DATA)" \
		$(if $(filter 1 yes true,$(YES)),--yes)

# One worker is plenty for one person's UI, and starts in a few seconds; mlflow's default of 4 workers takes
# ~25 s to start on a 2-core machine. The warning silenced is MLflow's own import of a deprecated Starlette
# module (mlflow/server/fastapi_app.py), printed once per worker: nothing a user can act on.
MLFLOW_UI_WORKERS ?= 1
# The store `make train` writes to by default (training/tracking.py); point both elsewhere to browse another.
MLFLOW_UI_STORE ?= sqlite:///$(CURDIR)/mlflow.db
MLFLOW_UI_ARTIFACTS ?= $(CURDIR)/mlartifacts
MLFLOW_UI_WARNINGS ?= ignore::DeprecationWarning,ignore:starlette.middleware.wsgi is deprecated:UserWarning

mlflow-ui: $(STAMP) ## MLflow UI on 127.0.0.1:$(MLFLOW_UI_PORT) (MLFLOW_UI_PORT), $(MLFLOW_UI_WORKERS) worker (MLFLOW_UI_WORKERS), over the project's tracking store
	@echo "MLflow UI on http://127.0.0.1:$(MLFLOW_UI_PORT), $(MLFLOW_UI_WORKERS) worker(s), store $(MLFLOW_UI_STORE)"
	@MLFLOW_DISABLE_TELEMETRY=$${MLFLOW_DISABLE_TELEMETRY:-true} PYTHONWARNINGS='$(MLFLOW_UI_WARNINGS)' \
		$(BIN)/mlflow ui --host 127.0.0.1 --port $(MLFLOW_UI_PORT) --workers $(MLFLOW_UI_WORKERS) \
		--backend-store-uri "$(MLFLOW_UI_STORE)" --default-artifact-root "$(MLFLOW_UI_ARTIFACTS)"
