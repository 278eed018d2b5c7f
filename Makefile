# Every target makes its own virtualenv: a fresh clone needs nothing but Python 3.11+ and make.
# help-group: develop
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install test unit integration lint layers typecheck check clean

# A help text may name a make variable as $(NAME): `make help` prints its value instead (command-line
# overrides included), so the help shows what the target will use, not make syntax.
HELP_VARIABLES = $(sort $(shell sed -n 's/^[a-zA-Z_-]*:.*\#\# //p' $(MAKEFILE_LIST) | grep -o '\$$([A-Za-z_][A-Za-z0-9_]*)' | tr -d '$$()'))
# `make help` lists the targets by task, in this order. A makefile puts its targets in a group with a
# `# help-group: NAME` line; a target of another group starts its help text with `[NAME]`.
HELP_GROUPS := run:Run_it_here train:Train_and_publish_models deploy:Deploy_to_AWS operate:Operate_what_is_deployed develop:Develop_and_test

help: ## List the targets, by task
	@awk -v groups='$(HELP_GROUPS)' \
		'BEGIN { count = split(groups, list, " "); for (i = 1; i <= count; i++) { split(list[i], pair, ":"); rank[pair[1]] = i } } \
		 FNR == 1 { group = "" } /^# help-group: / { group = $$3 } \
		 /^[a-zA-Z_-]+:.*## / { target = $$0; sub(/:.*/, "", target); text = $$0; sub(/^[^#]*## /, "", text); own = group; \
		   if (match(text, /^\[[a-z]+\] /)) { own = substr(text, 2, RLENGTH - 3); text = substr(text, RLENGTH + 1) } \
		   printf "%d\t%s\t%s\t%s\n", (own in rank) ? rank[own] : 99, own, target, text }' $(MAKEFILE_LIST) | sort -t "$$(printf '\t')" -k1,1n -k3,3 | \
		$(foreach name,$(HELP_VARIABLES),$(name)='$($(name))') awk -F'\t' -v groups='$(HELP_GROUPS)' -v names='$(HELP_VARIABLES)' \
		'BEGIN { count = split(groups, list, " "); for (i = 1; i <= count; i++) { split(list[i], pair, ":"); title[pair[1]] = pair[2]; gsub("_", " ", title[pair[1]]) } } \
		 { text = $$4; count = split(names, list, " "); \
		   for (i = 1; i <= count; i++) { ref = "$$(" list[i] ")"; \
		     while ((at = index(text, ref)) > 0) text = substr(text, 1, at - 1) ENVIRON[list[i]] substr(text, at + length(ref)) } \
		   if ($$2 != shown) { printf "%s%s:\n", (NR > 1 ? "\n" : ""), ($$2 in title) ? title[$$2] : "Not in a group (add # help-group: NAME)"; shown = $$2 } \
		   printf "  make %-18s %s\n", $$3, text }'

# The images' locks (requirements/*.txt) constrain the venv: what the tests run is what the images ship, at
# the same versions, whatever PyPI released since (pip takes no hashes in a constraints file, so they are
# dropped). -qq: pip's own warnings and setuptools' editable-install banner say nothing a user can act on;
# errors still print, and pip's exit status still stops make.
IMAGE_LOCKS := requirements/runtime.txt requirements/batch-http.txt

$(STAMP): pyproject.toml $(IMAGE_LOCKS)
	@echo "creating $(VENV) and installing ride-scorer with its training, batch, serving, Spark and test tools (a few minutes on a first run)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -qq --upgrade pip
	@mkdir -p .cache && sed -n 's/^\([A-Za-z0-9_.-]*==[^ ;\\]*\).*/\1/p' $(IMAGE_LOCKS) | sort -u > .cache/image-constraints.txt
	@$(PY) -m pip install -qq -e '.[train,batch,serve,spark,dev]' --constraint .cache/image-constraints.txt
	@touch $(STAMP)
	@echo "$(VENV) is ready"

install: $(STAMP) ## Create .venv with runtime, training, serving, Spark and test tools

# pytest-xdist workers for the suites: tests that share an expensive fixture (a module's, LocalStack, Spark,
# the registry) run on one worker, so each is started once (conftest.py's xdist groups). PYTEST_WORKERS=0
# runs in one process.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)

test: $(STAMP) ## Run lint, type checks, unit and integration tests (starts and stops its own emulators); prints its wall time
	@started=$$(date +%s); status=0; \
	for step in "$(BIN)/ruff check ." "$(BIN)/lint-imports" "$(BIN)/mypy ride_scorer lambda_function training infra tools" \
		"$(PY) -m pytest $(PYTEST_PARALLEL)"; do \
		echo "$$step"; $$step || { status=$$?; break; }; \
	done; \
	echo "make test: $$(( $$(date +%s) - started )) s wall time$$( [ $$status -eq 0 ] || echo ", failed" )"; exit $$status

unit: $(STAMP) ## Fast unit tests only
	$(PY) -m pytest $(PYTEST_PARALLEL) tests

integration: $(STAMP) ## Integration tests against local AWS emulators
	$(PY) -m pytest $(PYTEST_PARALLEL) integration-tests

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

layers: $(STAMP) ## Check the import layering (import-linter contracts in pyproject.toml)
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy
	$(BIN)/mypy ride_scorer lambda_function training infra tools

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .import_linter_cache build

# One way to read a CloudFormation stack's output, for every area: $(call stack_output,STACK,OutputKey).
stack_output = aws cloudformation describe-stacks --region $(AWS_REGION) --stack-name $(1) \
	--query "Stacks[0].Outputs[?OutputKey=='$(2)'].OutputValue" --output text

# Each area keeps its targets in make/*.mk.
-include make/*.mk
