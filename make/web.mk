# The HTTP service on AWS Lambda behind an API Gateway HTTP API (infra/templates/web.yaml), from the batch/HTTP image
# (Dockerfile.batch) pushed to ECR. docs/web_on_aws.md walks through deploy, invoke, watch and cost.
# deploy-web needs the AWS CLI and credentials; validate-web and web-events run anywhere.
# help-group: deploy

WEB_TEMPLATE := infra/templates/web.yaml
WEB_STACK ?= $(STACK)-web
# More stack parameters, as Key=Value words: WEB_PARAMETERS="AuthMode=JWT JwtIssuer=https://... JwtAudience=..."
WEB_PARAMETERS ?=

.PHONY: validate-web deploy-web web-events

validate-web: $(STAMP) ## cfn-lint infra/templates/web.yaml as SAM translates it (each AuthMode), sam validate, assert its settings
	@if [ -x $(SAM) ]; then $(SAM) validate --region $(AWS_REGION) --template-file $(WEB_TEMPLATE); \
	else echo "SAM CLI not installed (make sam-cli): skipped sam validate"; fi
	$(PY) -m pytest -q 'tests/unit/infra/test_lint.py::test_what_sam_deploys_is_lint_clean[web-AWS_IAM]' \
		'tests/unit/infra/test_lint.py::test_what_sam_deploys_is_lint_clean[web-JWT]' tests/unit/infra/test_web_template.py

web-events: $(STAMP) ## [develop] Regenerate events/web/ (SAM CLI's HTTP API event, AWS's Function URL event; needs make sam-cli)
	@test -x $(SAM) || (echo "make web-events needs the SAM CLI: run make sam-cli" >&2 && exit 1)
	$(PY) events/web/generate.py --sam $(SAM)

# Every check runs before the first AWS call; the model bucket is the infra stack's unless MODEL_BUCKET is given.
deploy-web: ## Deploy the web stack $(WEB_STACK): make deploy-web SERVICE_IMAGE_URI=<ecr image> MODEL_RUN_ID=<run> MODEL_SHA256=<digest>
	@test -n "$(SERVICE_IMAGE_URI)" || (echo "SERVICE_IMAGE_URI is not set: the batch/HTTP image in ECR that make publish-service printed (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)" >&2 && exit 2)
	@test -n "$(MODEL_RUN_ID)" || (echo "MODEL_RUN_ID is not set: the run id make publish-model printed" >&2 && exit 2)
	@test -n "$(MODEL_SHA256)" || (echo "MODEL_SHA256 is not set: the digest make publish-model printed; the service loads only a pinned model" >&2 && exit 2)
	@echo "$(MODEL_SHA256)" | grep -Eqx '[0-9a-f]{64}' || (echo "MODEL_SHA256=$(MODEL_SHA256) must be 64 lowercase hexadecimal characters (a SHA-256 digest)" >&2 && exit 2)
	@command -v aws >/dev/null || (echo "make deploy-web needs the AWS CLI (aws)" >&2 && exit 1)
	@bucket="$(MODEL_BUCKET)"; \
	if [ -z "$$bucket" ]; then bucket=$$($(call stack_output,$(INFRA_STACK),ModelBucketName)) || exit 1; fi; \
	set -x; aws cloudformation deploy --region $(AWS_REGION) --stack-name $(WEB_STACK) --template-file $(WEB_TEMPLATE) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
		--parameter-overrides ServiceImageUri=$(SERVICE_IMAGE_URI) ModelBucketName=$$bucket \
		ModelPrefix=$(or $(MODEL_PREFIX),models/ride-duration)/$(MODEL_RUN_ID) ModelSha256=$(MODEL_SHA256) $(WEB_PARAMETERS)
