# Backfills on Apache Spark (docs/backfill.md): the same core in mapInArrow, locally on PySpark or on EMR
# Serverless (infra/templates/backfill.yaml) with the venv archive of Dockerfile.backfill. backfill and bench-spark run
# here (PySpark, the spark extra, and Java 17); package-backfill needs Docker; deploy-backfill and
# backfill-remote need the AWS CLI and credentials. A missing or malformed variable stops a target with one
# line before any AWS call (the checks are prerequisites, run before the recipe).
# help-group: run

BACKFILL_INPUT ?= data/green_tripdata_2023-*.parquet
BACKFILL_OUTPUT ?= .cache/backfill/predictions
SPARK_MASTER ?= local[2]
# More arguments for python -m ride_scorer.backfill, e.g. BACKFILL_ARGS="--overwrite --id-column ride_id".
BACKFILL_ARGS ?=
BACKFILL_TEMPLATE := infra/templates/backfill.yaml
BACKFILL_STACK ?= $(PREFIX)-backfill
BACKFILL_PACKAGE := .cache/backfill-package
BACKFILL_ARCHIVE := $(BACKFILL_PACKAGE)/pyspark_venv.tar.gz
# Where the venv archive and the entry point are uploaded (deploy-backfill gives the job role read access).
BACKFILL_ARTIFACTS_URI ?=
# deploy-backfill: the prefixes the job role may read and write (s3://bucket/prefix/).
BACKFILL_INPUT_URI ?=
BACKFILL_OUTPUT_URI ?=
# spark-submit settings of a remote run, e.g. "--conf spark.executor.cores=4 --conf spark.executor.memory=8g".
BACKFILL_SPARK_CONF ?=
backfill_bucket = $(word 1,$(subst /, ,$(patsubst s3://%,%,$(1))))
backfill_prefix = $(patsubst $(call backfill_bucket,$(1))/%,%,$(patsubst s3://%,%,$(1)))
BACKFILL_PYTHON := ./environment/bin/python

.PHONY: backfill bench-spark package-backfill deploy-backfill backfill-remote validate-backfill \
	spark-installed backfill-deploy-vars backfill-remote-vars

spark-installed: $(STAMP)
	@$(PY) -c "import pyspark" 2>/dev/null || (echo "PySpark is not installed in $(VENV): $(PY) -m pip install -e '.[spark]'" >&2 && exit 2)
	@command -v java >/dev/null || (echo "Spark needs Java 17 or later: no java on PATH" >&2 && exit 2)

backfill: spark-installed ## Score parquet on local Spark: make backfill BACKFILL_INPUT=file|folder|glob BACKFILL_OUTPUT=folder [SPARK_MASTER=local[2]] [BACKFILL_ARGS=--overwrite]
	@mkdir -p .cache/backfill
	@$(WITH_MODEL) $(PY) -m ride_scorer.backfill --input "$(BACKFILL_INPUT)" --output "$(BACKFILL_OUTPUT)" \
		--master "$(SPARK_MASTER)" $(BACKFILL_ARGS)

bench-spark: spark-installed ## [develop] Benchmark: rows/s of the backfill on local[1] and local[2] against the single-process batch job, overhead per row
	$(PY) bench/spark.py

validate-backfill: $(STAMP) ## [deploy] cfn-lint infra/templates/backfill.yaml and assert its role and the venv package (no AWS needed)
	$(PY) -m pytest -q 'tests/unit/infra/test_lint.py::test_plain_template_is_lint_clean[backfill]' tests/unit/infra/test_backfill_template.py

package-backfill: ## [deploy] Build the EMR Serverless venv archive with Docker ($(BACKFILL_ARCHIVE))
	@command -v docker >/dev/null || (echo "make package-backfill needs Docker" >&2 && exit 2)
	DOCKER_BUILDKIT=1 docker build --platform linux/amd64 -f Dockerfile.backfill --output $(BACKFILL_PACKAGE) .
	@ls -l $(BACKFILL_ARCHIVE)

backfill-deploy-vars:
	@for uri in "BACKFILL_INPUT_URI=$(BACKFILL_INPUT_URI)" "BACKFILL_OUTPUT_URI=$(BACKFILL_OUTPUT_URI)" "BACKFILL_ARTIFACTS_URI=$(BACKFILL_ARTIFACTS_URI)"; do \
		echo "$${uri#*=}" | grep -Eqx 's3://[a-z0-9][a-z0-9.-]+[a-z0-9]/[^/*]+/' || { echo "$${uri%%=*} must be s3://bucket/prefix/ (a prefix ending in /), got '$${uri#*=}'" >&2; exit 2; }; done
	@command -v aws >/dev/null || (echo "make deploy-backfill needs the AWS CLI (aws)" >&2 && exit 2)

deploy-backfill: backfill-deploy-vars ## [deploy] Deploy the EMR Serverless application and job role ($(BACKFILL_STACK)): make deploy-backfill BACKFILL_INPUT_URI=s3://... BACKFILL_OUTPUT_URI=s3://... BACKFILL_ARTIFACTS_URI=s3://...
	@bucket="$(MODEL_BUCKET)"; \
	if [ -z "$$bucket" ]; then bucket=$$($(call stack_output,$(INFRA_STACK),ModelBucketName)) || exit 1; fi; \
	case "$$bucket" in ""|None) echo "stack $(INFRA_STACK) in $(AWS_REGION) has no ModelBucketName output: run make deploy-infra, or set MODEL_BUCKET" >&2; exit 2;; esac; \
	set -x; aws cloudformation deploy --region $(AWS_REGION) --stack-name $(BACKFILL_STACK) --template-file $(BACKFILL_TEMPLATE) \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		--parameter-overrides Prefix=$(PREFIX) ModelBucket=$$bucket ModelPrefix=$(or $(MODEL_PREFIX),models/) \
		InputBucket=$(call backfill_bucket,$(BACKFILL_INPUT_URI)) InputPrefix=$(call backfill_prefix,$(BACKFILL_INPUT_URI)) \
		OutputBucket=$(call backfill_bucket,$(BACKFILL_OUTPUT_URI)) OutputPrefix=$(call backfill_prefix,$(BACKFILL_OUTPUT_URI)) \
		ArtifactsBucket=$(call backfill_bucket,$(BACKFILL_ARTIFACTS_URI)) ArtifactsPrefix=$(call backfill_prefix,$(BACKFILL_ARTIFACTS_URI))

backfill-remote-vars:
	@case "$(BACKFILL_INPUT)" in s3://*) ;; *) echo "BACKFILL_INPUT=$(BACKFILL_INPUT) must be an s3:// file, folder or glob for a remote run" >&2; exit 2;; esac
	@case "$(BACKFILL_OUTPUT)" in s3://*) ;; *) echo "BACKFILL_OUTPUT=$(BACKFILL_OUTPUT) must be an s3:// folder for a remote run" >&2; exit 2;; esac
	@case "$(MODEL_LOCATION)" in s3://*) ;; *) echo "MODEL_LOCATION is not an s3:// model prefix (got '$(MODEL_LOCATION)'): the prefix make publish-model printed" >&2; exit 2;; esac
	@echo "$(MODEL_SHA256)" | grep -Eqx '[0-9a-f]{64}' || (echo "MODEL_SHA256 is not set or not 64 lowercase hexadecimal characters: the digest make publish-model printed" >&2 && exit 2)
	@echo "$(BACKFILL_ARTIFACTS_URI)" | grep -Eqx 's3://[a-z0-9][a-z0-9.-]+[a-z0-9]/[^/*]+/' || (echo "BACKFILL_ARTIFACTS_URI must be the s3://bucket/prefix/ given to make deploy-backfill, got '$(BACKFILL_ARTIFACTS_URI)'" >&2 && exit 2)
	@test -f $(BACKFILL_ARCHIVE) || (echo "$(BACKFILL_ARCHIVE) is missing: run make package-backfill (Docker) first" >&2 && exit 2)
	@command -v aws >/dev/null || (echo "make backfill-remote needs the AWS CLI (aws)" >&2 && exit 2)

# The entry point is the package's own __main__.py; the venv archive carries the package itself.
backfill-remote: backfill-remote-vars ## [operate] Run a backfill on EMR Serverless: make backfill-remote BACKFILL_INPUT=s3://... BACKFILL_OUTPUT=s3://... MODEL_LOCATION=s3://... MODEL_SHA256=... BACKFILL_ARTIFACTS_URI=s3://...
	@app=$$($(call stack_output,$(BACKFILL_STACK),BackfillApplicationId)) || exit 1; \
	role=$$($(call stack_output,$(BACKFILL_STACK),BackfillJobRoleArn)) || exit 1; \
	case "$$app$$role" in ""|*None*) echo "stack $(BACKFILL_STACK) in $(AWS_REGION) has no BackfillApplicationId/BackfillJobRoleArn output: run make deploy-backfill" >&2; exit 2;; esac; \
	set -ex; \
	aws s3 cp $(BACKFILL_ARCHIVE) $(BACKFILL_ARTIFACTS_URI)pyspark_venv.tar.gz; \
	aws s3 cp ride_scorer/backfill/__main__.py $(BACKFILL_ARTIFACTS_URI)backfill_main.py; \
	aws emr-serverless start-job-run --region $(AWS_REGION) --application-id "$$app" --execution-role-arn "$$role" \
		--name ride-scorer-backfill --job-driver "$$(printf '%s' '{"sparkSubmit": {"entryPoint": "$(BACKFILL_ARTIFACTS_URI)backfill_main.py", "entryPointArguments": ["--input", "$(BACKFILL_INPUT)", "--output", "$(BACKFILL_OUTPUT)", "--model", "$(MODEL_LOCATION)", "--model-sha256", "$(MODEL_SHA256)"], "sparkSubmitParameters": "--conf spark.archives=$(BACKFILL_ARTIFACTS_URI)pyspark_venv.tar.gz#environment --conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=$(BACKFILL_PYTHON) --conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=$(BACKFILL_PYTHON) --conf spark.executorEnv.PYSPARK_PYTHON=$(BACKFILL_PYTHON) --conf spark.emr-serverless.driverEnv.AWS_REGION=$(AWS_REGION) --conf spark.executorEnv.AWS_REGION=$(AWS_REGION) $(BACKFILL_SPARK_CONF)"}}')"
