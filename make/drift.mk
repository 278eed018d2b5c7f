# help-group: operate
# Model health on files: compare a scored month with its model's training reference (training/drift_report.py).

DRIFT_SCORED ?= $(BATCH_OUTPUT)
DRIFT_REPORT ?= .cache/drift/report.html

.PHONY: drift-report

drift-report: $(STAMP) ## Drift of a scored month (make batch's output, $(DRIFT_SCORED)) against its model's training reference, per feature and prediction: HTML in $(DRIFT_REPORT)
	@test -f "$(DRIFT_SCORED)" || { echo "error: $(DRIFT_SCORED) does not exist: score a month first (make batch), or set DRIFT_SCORED" >&2; exit 2; }
	@$(WITH_MODEL) $(PY) -m training.drift_report --scored "$(DRIFT_SCORED)" --model "$$MODEL_LOCATION" --output "$(DRIFT_REPORT)"
