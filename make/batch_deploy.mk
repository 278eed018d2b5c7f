# The batch job on AWS (infra/templates/batch.yaml): the batch/HTTP image (Dockerfile.batch) pushed to the infra stack's
# ServiceImageRepository, a stack that runs it on ECS Fargate on a schedule, and a one-off run of it now.
# docs/batch_on_aws.md walks through deploy, one-off, schedule, watch and cost. publish-service needs Docker;
# all three need the AWS CLI and credentials.
#
# A missing or malformed variable stops a target with one line before any AWS call: the checks are
# prerequisites (make runs them before it expands the target's own recipe), and the stack lookups run in
# the recipe's shell, after them.
# help-group: deploy

BATCH_TEMPLATE := infra/templates/batch.yaml
BATCH_STACK ?= $(PREFIX)-batch
BATCH_SCHEDULE ?= cron(0 3 * * ? *)
BATCH_SCHEDULE_STATE ?= ENABLED
# More stack parameters, as Key=Value words: BATCH_PARAMETERS="TaskCpu=2048 TaskMemory=4096 AlarmEmail=ops@example.com"
BATCH_PARAMETERS ?=
# What the batch/HTTP image is built from: an uncommitted edit would be pushed under the commit's tag.
SERVICE_IMAGE_SOURCES := Dockerfile.batch Dockerfile.batch.dockerignore requirements/batch-http.txt ride_scorer
# s3://bucket/a/b/ -> bucket, and -> a/b (the stack's parameters take them apart).
s3_bucket = $(word 1,$(subst /, ,$(patsubst s3://%,%,$(1))))
s3_prefix = $(patsubst %/,%,$(patsubst $(call s3_bucket,$(1))/%,%,$(patsubst s3://%,%,$(1))))

.PHONY: publish-service deploy-batch batch-remote service-image-vars batch-deploy-vars batch-remote-vars validate-batch

validate-batch: $(STAMP) ## cfn-lint infra/templates/batch.yaml and assert its settings (no AWS needed)
	$(PY) -m pytest -q 'tests/unit/infra/test_lint.py::test_plain_template_is_lint_clean[batch]' \
		tests/unit/infra/test_batch_template.py tests/unit/infra/test_batch_make.py

service-image-vars:
	@command -v docker >/dev/null || (echo "make publish-service needs Docker" >&2 && exit 2)
	@command -v aws >/dev/null || (echo "make publish-service needs the AWS CLI (aws)" >&2 && exit 2)
	@if [ "$(origin IMAGE_TAG)" = file ] && [ -n "$$(git status --porcelain -- $(SERVICE_IMAGE_SOURCES))" ]; then \
		echo "uncommitted changes in the image's files (git status -- $(SERVICE_IMAGE_SOURCES)): commit them, or set IMAGE_TAG; the image is tagged with the commit ($(IMAGE_TAG)) and ECR tags are immutable" >&2; exit 2; fi

publish-service: service-image-vars build-batch ## Push the batch/HTTP image to the infra stack's ServiceImageRepository and print its URI (SERVICE_IMAGE_URI)
	@repo="$(SERVICE_REPOSITORY_URI)"; \
	if [ -z "$$repo" ]; then repo=$$($(call stack_output,$(INFRA_STACK),ServiceImageRepositoryUri)) || exit 1; fi; \
	case "$$repo" in ""|None) echo "stack $(INFRA_STACK) in $(AWS_REGION) has no ServiceImageRepositoryUri output: run make deploy-infra" >&2; exit 2;; esac; \
	if aws ecr describe-images --region $(AWS_REGION) --repository-name "$${repo#*/}" --image-ids imageTag=$(IMAGE_TAG) >/dev/null 2>&1; then \
		echo "$$repo:$(IMAGE_TAG) is already published (tags are immutable): nothing to push" >&2; \
	else \
		aws ecr get-login-password --region $(AWS_REGION) | docker login --username AWS --password-stdin "$${repo%%/*}" >&2 \
		&& docker tag $(BATCH_IMAGE):$(IMAGE_TAG) "$$repo:$(IMAGE_TAG)" && docker push "$$repo:$(IMAGE_TAG)" >&2 || exit 1; \
	fi; \
	echo "SERVICE_IMAGE_URI=$$repo:$(IMAGE_TAG)"

batch-deploy-vars:
	@test -n "$(SERVICE_IMAGE_URI)" || (echo "SERVICE_IMAGE_URI is not set: the batch/HTTP image make publish-service printed (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)" >&2 && exit 2)
	@test -n "$(MODEL_RUN_ID)" || (echo "MODEL_RUN_ID is not set: the run id make publish-model printed" >&2 && exit 2)
	@test -n "$(MODEL_SHA256)" || (echo "MODEL_SHA256 is not set: the digest make publish-model printed; the job loads only a pinned model" >&2 && exit 2)
	@echo "$(MODEL_SHA256)" | grep -Eqx '[0-9a-f]{64}' || (echo "MODEL_SHA256=$(MODEL_SHA256) must be 64 lowercase hexadecimal characters (a SHA-256 digest)" >&2 && exit 2)
	@test -n "$(BATCH_INPUT_URI)" || (echo "BATCH_INPUT_URI is not set: the S3 prefix whose parquet objects each run scores (s3://bucket/prefix/)" >&2 && exit 2)
	@test -n "$(BATCH_OUTPUT_URI)" || (echo "BATCH_OUTPUT_URI is not set: the S3 prefix the predictions, rejects and markers go under (s3://bucket/prefix/)" >&2 && exit 2)
	@for uri in "BATCH_INPUT_URI=$(BATCH_INPUT_URI)" "BATCH_OUTPUT_URI=$(BATCH_OUTPUT_URI)"; do \
		echo "$${uri#*=}" | grep -Eqx 's3://[a-z0-9][a-z0-9.-]+[a-z0-9]/[^/].*' || { echo "$$uri must be s3://bucket/prefix/ (a prefix, not the whole bucket)" >&2; exit 2; }; done
	@test -n "$(BATCH_VPC_ID)" || (echo "BATCH_VPC_ID is not set: the VPC the tasks run in (vpc-...; the default VPC: aws ec2 describe-vpcs --filters Name=is-default,Values=true)" >&2 && exit 2)
	@test -n "$(BATCH_SUBNETS)" || (echo "BATCH_SUBNETS is not set: comma-separated subnet ids in BATCH_VPC_ID with a route to ECR, S3 and CloudWatch Logs (subnet-a,subnet-b)" >&2 && exit 2)
	@command -v aws >/dev/null || (echo "make deploy-batch needs the AWS CLI (aws)" >&2 && exit 2)

# The model bucket is the infra stack's unless MODEL_BUCKET is given.
deploy-batch: batch-deploy-vars ## Deploy the scheduled batch job $(BATCH_STACK) ($(BATCH_SCHEDULE)): make deploy-batch SERVICE_IMAGE_URI=... MODEL_RUN_ID=... MODEL_SHA256=... BATCH_INPUT_URI=s3://... BATCH_OUTPUT_URI=s3://... BATCH_VPC_ID=... BATCH_SUBNETS=...
	@bucket="$(MODEL_BUCKET)"; \
	if [ -z "$$bucket" ]; then bucket=$$($(call stack_output,$(INFRA_STACK),ModelBucketName)) || exit 1; fi; \
	case "$$bucket" in ""|None) echo "stack $(INFRA_STACK) in $(AWS_REGION) has no ModelBucketName output: run make deploy-infra, or set MODEL_BUCKET" >&2; exit 2;; esac; \
	set -x; aws cloudformation deploy --region $(AWS_REGION) --stack-name $(BATCH_STACK) --template-file $(BATCH_TEMPLATE) \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		--parameter-overrides Prefix=$(PREFIX) ServiceImageUri=$(SERVICE_IMAGE_URI) ModelBucketName=$$bucket \
		ModelPrefix=$(or $(MODEL_PREFIX),models/ride-duration)/$(MODEL_RUN_ID) ModelSha256=$(MODEL_SHA256) \
		InputBucketName=$(call s3_bucket,$(BATCH_INPUT_URI)) InputPrefix=$(call s3_prefix,$(BATCH_INPUT_URI)) \
		OutputBucketName=$(call s3_bucket,$(BATCH_OUTPUT_URI)) OutputPrefix=$(call s3_prefix,$(BATCH_OUTPUT_URI)) \
		VpcId=$(BATCH_VPC_ID) SubnetIds=$(BATCH_SUBNETS) 'ScheduleExpression=$(BATCH_SCHEDULE)' \
		ScheduleState=$(BATCH_SCHEDULE_STATE) $(BATCH_PARAMETERS)

batch-remote-vars:
	@if [ -n "$(BATCH_REMOTE_INPUT)" ] && [ -z "$(BATCH_REMOTE_OUTPUT)" ]; then echo "BATCH_REMOTE_OUTPUT is not set: with BATCH_REMOTE_INPUT=$(BATCH_REMOTE_INPUT), the s3:// file to write the predictions to" >&2; exit 2; fi
	@if [ -z "$(BATCH_REMOTE_INPUT)" ] && [ -n "$(BATCH_REMOTE_OUTPUT)" ]; then echo "BATCH_REMOTE_INPUT is not set: with BATCH_REMOTE_OUTPUT=$(BATCH_REMOTE_OUTPUT), the s3:// parquet file to score" >&2; exit 2; fi
	@if [ -n "$(BATCH_REMOTE_INPUT)" ] && [ -n "$(BATCH_RESCORE)" ]; then echo "BATCH_RESCORE is for the stack's prefixes; one BATCH_REMOTE_INPUT file is always scored" >&2; exit 2; fi
	@for uri in $(if $(BATCH_REMOTE_INPUT),"BATCH_REMOTE_INPUT=$(BATCH_REMOTE_INPUT)" "BATCH_REMOTE_OUTPUT=$(BATCH_REMOTE_OUTPUT)"); do \
		echo "$${uri#*=}" | grep -Eqx 's3://[a-z0-9][a-z0-9.-]+[a-z0-9]/[^/"]+' || { echo "$$uri must be s3://bucket/key" >&2; exit 2; }; done
	@command -v aws >/dev/null || (echo "make batch-remote needs the AWS CLI (aws)" >&2 && exit 2)

# The task runs in the stack's cluster, subnets and security group with the stack's roles, so a one-off file
# must be under the stack's input prefix and its output under the output prefix (the role allows no more).
batch-remote: batch-remote-vars ## [operate] Run the batch job of $(BATCH_STACK) once now on Fargate, wait, print its exit code and logs command (BATCH_REMOTE_INPUT=s3://... BATCH_REMOTE_OUTPUT=s3://... for one file; BATCH_RESCORE=1)
	@out() { $(call stack_output,$(BATCH_STACK),$$1); }; \
	cluster=$$(out ClusterName) && definition=$$(out TaskDefinitionArn) && subnets=$$(out SubnetIds) \
		&& group=$$(out SecurityGroupId) && public=$$(out AssignPublicIp) && logs=$$(out LogGroupName) \
		&& input=$$(out InputUri) && output=$$(out OutputUri) || exit 1; \
	case "$$cluster" in ""|None) echo "stack $(BATCH_STACK) in $(AWS_REGION) has no ClusterName output: run make deploy-batch" >&2; exit 2;; esac; \
	if [ -n "$(BATCH_REMOTE_INPUT)" ]; then arguments='"--input","$(BATCH_REMOTE_INPUT)","--output","$(BATCH_REMOTE_OUTPUT)"'; \
	else arguments="\"--input-prefix\",\"$$input\",\"--output-prefix\",\"$$output\"$(if $(BATCH_RESCORE),$(comma)\"--rescore\")"; fi; \
	overrides="{\"containerOverrides\":[{\"name\":\"batch\",\"command\":[\"python\",\"-m\",\"ride_scorer.batch\",$$arguments,\"--no-progress\"]}]}"; \
	task=$$(aws ecs run-task --region $(AWS_REGION) --cluster "$$cluster" --task-definition "$$definition" \
		--launch-type FARGATE --count 1 --started-by make-batch-remote \
		--network-configuration "awsvpcConfiguration={subnets=[$$subnets],securityGroups=[$$group],assignPublicIp=$$public}" \
		--overrides "$$overrides" --query 'tasks[0].taskArn' --output text) || exit 1; \
	case "$$task" in ""|None) echo "ECS started no task (aws ecs run-task reported failures)" >&2; exit 1;; esac; \
	echo "started $$task; logs: aws logs tail $$logs --follow --log-stream-names batch/batch/$${task##*/}"; \
	aws ecs wait tasks-stopped --region $(AWS_REGION) --cluster "$$cluster" --tasks "$$task" \
		|| { echo "still running after the waiter's 10 minutes; follow it with the logs command above" >&2; exit 1; }; \
	code=$$(aws ecs describe-tasks --region $(AWS_REGION) --cluster "$$cluster" --tasks "$$task" \
		--query 'tasks[0].containers[0].exitCode' --output text); \
	reason=$$(aws ecs describe-tasks --region $(AWS_REGION) --cluster "$$cluster" --tasks "$$task" \
		--query 'tasks[0].stoppedReason' --output text); \
	echo "task stopped: exit code $$code ($$reason)"; \
	aws logs tail "$$logs" --log-stream-names "batch/batch/$${task##*/}" --since 1d | tail -n 20; \
	[ "$$code" = 0 ]

comma := ,
