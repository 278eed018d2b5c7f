# Deployment: the Lambda image, the SAM stack, its long-lived resources and the sample events.
# build/publish/deploy need Docker, the AWS CLI and credentials; lock/validate/events/sam-cli run anywhere.
# help-group: deploy

STACK ?= ride-scorer
INFRA_STACK ?= $(STACK)-infra
PREFIX ?= ride-scorer
AWS_REGION ?= us-east-1
IMAGE ?= ride-scorer
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
# How CodeDeploy shifts the live alias to the new version, and X-Ray (template parameters; docs/rollout.md).
DEPLOYMENT_TYPE ?= Canary10Percent5Minutes
TRACING ?= Active
# Capacity knobs of the function and its Kinesis event source (template parameters, same defaults); make
# capacity prints them for a ride rate (docs/capacity.md).
STREAM_BATCH_SIZE ?= 500
STREAM_BATCHING_WINDOW ?= 1
PARALLELIZATION_FACTOR ?= 1
SCORER_MEMORY_SIZE ?= 1024
# The streams' mode and shard count (infra/templates/resources.yaml): passed to deploy-infra only when given, so a
# stack resized since is not put back by a plain make deploy-infra.
STREAM_MODE ?=
SHARD_COUNT ?=
SAM_VENV := .cache/sam-cli
SAM_CLI_VERSION ?= 1.170.0
# The SAM CLI sends usage data unless told not to; ride-scorer's make targets never do.
export SAM_CLI_TELEMETRY := 0
SAM := $(SAM_VENV)/bin/sam
RUNTIME_LOCK := requirements/runtime.txt
# The image's Python and platform (public.ecr.aws/lambda/python:3.12 is x86_64, glibc 2.34).
LOCK_PLATFORM := --python-version 3.12 --python-platform x86_64-manylinux_2_28

.PHONY: lock build publish deploy deploy-infra validate events sam-cli

lock: $(STAMP) ## [develop] Lock the image's runtime requirements (pyproject dependencies, at the dev venv's versions)
	@mkdir -p .cache
	$(PY) -m pip freeze --exclude-editable > .cache/dev-versions.txt
	$(BIN)/uv pip compile pyproject.toml $(LOCK_PLATFORM) --generate-hashes --no-header \
		--constraint .cache/dev-versions.txt --output-file $(RUNTIME_LOCK)

events: $(STAMP) ## [develop] Regenerate the sample events in events/ from real TLC rides (large.json is not committed)
	$(PY) events/generate.py

validate: $(STAMP) ## cfn-lint template.yaml (as SAM translates it) and infra/templates/resources.yaml, sam validate, assert their settings
	@if [ -x $(SAM) ]; then $(SAM) validate --region $(AWS_REGION); \
	else echo "SAM CLI not installed (make sam-cli): skipped sam validate"; fi
	$(PY) -m pytest -q 'tests/unit/infra/test_lint.py::test_what_sam_deploys_is_lint_clean[template]' \
		'tests/unit/infra/test_lint.py::test_plain_template_is_lint_clean[resources]' tests/unit/infra/test_template.py tests/unit/infra/test_image.py

# make test runs the SAM CLI's own checks (tests/unit/infra/test_sam_cli.py), so it installs it first.
test: sam-cli

# A SAM CLI that does not run (an interrupted install, a venv moved with its folder: its scripts name the old
# python) is installed again, into a cleared venv.
sam-cli: ## [develop] Install the AWS SAM CLI in its own venv (.cache/sam-cli): its pins conflict with ours
	@$(SAM) --version >/dev/null 2>&1 || (echo "installing the AWS SAM CLI $(SAM_CLI_VERSION) into $(SAM_VENV) (first run only, about a minute)" \
		&& $(PYTHON) -m venv --clear $(SAM_VENV) && $(SAM_VENV)/bin/python -m pip install -qq aws-sam-cli==$(SAM_CLI_VERSION))
	@$(SAM) --version

build: ## Build the Lambda image with Docker (ride-scorer:<git sha>)
	@command -v docker >/dev/null || (echo "make build needs Docker" && exit 1)
	docker build --platform linux/amd64 --provenance=false -t $(IMAGE):$(IMAGE_TAG) .

deploy-infra: ## Create or update the long-lived resources (infra/templates/resources.yaml) as stack $(INFRA_STACK) [STREAM_MODE=PROVISIONED|ON_DEMAND] [SHARD_COUNT=n]
	aws cloudformation deploy --region $(AWS_REGION) --stack-name $(INFRA_STACK) \
		--template-file infra/templates/resources.yaml --parameter-overrides Prefix=$(PREFIX) \
		$(if $(STREAM_MODE),StreamMode=$(STREAM_MODE)) $(if $(SHARD_COUNT),ShardCount=$(SHARD_COUNT)) --no-fail-on-empty-changeset

# The repository URI and bucket come from the infra stack, so nothing account-specific lives in the repo.
# Each is read once per make run, and only when a recipe that needs it runs: make expands a recipe whole
# before its first line, so the checks that must come first are prerequisites (deploy-pin, infra-outputs).
# Give them on the command line (INFRA_REPOSITORY_URI=... INFRA_MODEL_BUCKET=...) to skip the lookup.
INFRA_OUTPUT = $(shell $(call stack_output,$(INFRA_STACK),$(1)) 2>/dev/null)
INFRA_REPOSITORY_URI = $(eval INFRA_REPOSITORY_URI := $(call INFRA_OUTPUT,ImageRepositoryUri))$(INFRA_REPOSITORY_URI)
INFRA_MODEL_BUCKET = $(eval INFRA_MODEL_BUCKET := $(call INFRA_OUTPUT,ModelBucketName))$(INFRA_MODEL_BUCKET)
# What the Lambda image is built from (.dockerignore): an edit there that is not committed would be pushed
# under the commit's tag, and ECR's tags are immutable, so publish refuses it.
IMAGE_SOURCES := Dockerfile .dockerignore requirements/runtime.txt infra/prune_botocore.py infra/prune_tests.py lambda_function ride_scorer

.PHONY: deploy-pin infra-outputs image-committed

infra-outputs:
	@command -v aws >/dev/null || (echo "this target needs the AWS CLI (aws) to read stack $(INFRA_STACK)'s outputs" >&2 && exit 2)
	@case "$(INFRA_REPOSITORY_URI)" in ""|None) echo "stack $(INFRA_STACK) in $(AWS_REGION) has no ImageRepositoryUri output (no such stack, or no credentials): run make deploy-infra, or set INFRA_REPOSITORY_URI" >&2; exit 2;; esac
	@case "$(INFRA_MODEL_BUCKET)" in ""|None) echo "stack $(INFRA_STACK) in $(AWS_REGION) has no ModelBucketName output: run make deploy-infra, or set INFRA_MODEL_BUCKET" >&2; exit 2;; esac

image-committed:
	@if [ "$(origin IMAGE_TAG)" = file ] && [ -n "$$(git status --porcelain -- $(IMAGE_SOURCES))" ]; then \
		echo "uncommitted changes in the image's files (git status -- $(IMAGE_SOURCES)): commit them, or set IMAGE_TAG; the image is tagged with the commit ($(IMAGE_TAG)) and ECR tags are immutable" >&2; exit 2; fi

publish: image-committed infra-outputs build ## Push the image to the infra stack's ECR repository (tags are immutable: one tag per commit; an existing tag is kept)
	@if aws ecr describe-images --region $(AWS_REGION) --repository-name $(lastword $(subst /, ,$(INFRA_REPOSITORY_URI))) \
		--image-ids imageTag=$(IMAGE_TAG) >/dev/null 2>&1; then \
		echo "$(INFRA_REPOSITORY_URI):$(IMAGE_TAG) is already published (tags are immutable): nothing to push"; \
	else \
		aws ecr get-login-password --region $(AWS_REGION) | docker login --username AWS --password-stdin $(firstword $(subst /, ,$(INFRA_REPOSITORY_URI))) \
		&& docker tag $(IMAGE):$(IMAGE_TAG) $(INFRA_REPOSITORY_URI):$(IMAGE_TAG) \
		&& docker push $(INFRA_REPOSITORY_URI):$(IMAGE_TAG); \
	fi

# The pin is required: the scorer loads a model only when its files have the digest the stack gives it. A
# shadow challenger (CHALLENGER_RUN_ID, CHALLENGER_SHA256: another published run) is optional and pinned too;
# without it the stack's defaults (no challenger) apply.
deploy-pin:
	@test -n "$(MODEL_RUN_ID)" || (echo "MODEL_RUN_ID is not set: the run id make publish-model printed" >&2 && exit 2)
	@test -n "$(MODEL_SHA256)" || (echo "MODEL_SHA256 is not set: the digest make publish-model printed; the scorer loads only a pinned model" >&2 && exit 2)
	@echo "$(MODEL_SHA256)" | grep -Eqx '[0-9a-f]{64}' || (echo "MODEL_SHA256=$(MODEL_SHA256) must be 64 lowercase hexadecimal characters (a SHA-256 digest)" >&2 && exit 2)
	@if [ -n "$(CHALLENGER_RUN_ID)" ]; then echo "$(CHALLENGER_SHA256)" | grep -Eqx '[0-9a-f]{64}' || (echo "CHALLENGER_SHA256=$(CHALLENGER_SHA256) must be the challenger's digest, 64 lowercase hexadecimal characters (make publish-model printed it)" >&2 && exit 2); \
	elif [ -n "$(CHALLENGER_SHA256)" ]; then echo "CHALLENGER_SHA256 is set but CHALLENGER_RUN_ID is not: set both (a shadow challenger) or neither" >&2; exit 2; fi
	@test -x $(SAM) || (echo "make deploy needs the SAM CLI: run make sam-cli" >&2 && exit 2)

# --template-file: after `sam build` (the debug recipe), a bare `sam deploy` would pick .aws-sam/build's
# template and deploy the locally built image instead of ImageUri.
deploy: deploy-pin infra-outputs ## Deploy the function stack: make deploy MODEL_RUN_ID=<published run> MODEL_SHA256=<digest> [CHALLENGER_RUN_ID=<run> CHALLENGER_SHA256=<digest>] [DEPLOYMENT_TYPE=$(DEPLOYMENT_TYPE)] [TRACING=$(TRACING)]
	$(SAM) deploy --template-file template.yaml --config-file samconfig.toml --region $(AWS_REGION) --stack-name $(STACK) \
		--image-repository $(INFRA_REPOSITORY_URI) \
		--parameter-overrides ImageUri=$(INFRA_REPOSITORY_URI):$(IMAGE_TAG) ModelBucketName=$(INFRA_MODEL_BUCKET) \
		RidesStreamName=$(PREFIX)-rides PredictionsStreamName=$(PREFIX)-predictions \
		DeadLetterQueueName=$(PREFIX)-dead-letters OnFailureQueueName=$(PREFIX)-on-failure \
		ModelPrefix=$(or $(MODEL_PREFIX),models/ride-duration)/$(MODEL_RUN_ID) ModelSha256=$(MODEL_SHA256) \
		DeploymentType=$(DEPLOYMENT_TYPE) Tracing=$(TRACING) \
		BatchSize=$(STREAM_BATCH_SIZE) MaximumBatchingWindowInSeconds=$(STREAM_BATCHING_WINDOW) \
		ParallelizationFactor=$(PARALLELIZATION_FACTOR) MemorySize=$(SCORER_MEMORY_SIZE) \
		$(if $(CHALLENGER_RUN_ID),ChallengerPrefix=$(or $(MODEL_PREFIX),models/ride-duration)/$(CHALLENGER_RUN_ID) ChallengerSha256=$(CHALLENGER_SHA256))
