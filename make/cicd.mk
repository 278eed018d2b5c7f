# CI/CD: the GitHub Actions workflows in .github/workflows (ci.yml runs make test; cd.yml publishes and
# deploys on main). Checked offline, with no GitHub token: the workflow schema check-jsonschema vendors,
# and zizmor's audits (pinned actions, least permissions, no persisted credentials, no template injection).
# help-group: develop

WORKFLOWS := $(wildcard .github/workflows/*.yml)
ZIZMOR_PERSONA ?= pedantic

.PHONY: workflows

workflows: $(STAMP) ## Check .github/workflows offline: GitHub's workflow schema, then zizmor ($(ZIZMOR_PERSONA) persona)
	@test -n "$(WORKFLOWS)" || { echo "no workflows in .github/workflows" >&2; exit 2; }
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/zizmor --offline --no-progress --persona $(ZIZMOR_PERSONA) $(WORKFLOWS)
