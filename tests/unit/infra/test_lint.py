"""Every CloudFormation template of the project, linted once, here (`make validate` runs this file too).

A SAM template is linted as SAM translates it (infra/sam_translate.py): cfn-lint on the SAM source misses bad
values inside events, which only show once SAM has made them into plain resources; web.yaml is translated
once per AuthMode, because each mode deploys different resources. The other templates are plain
CloudFormation and are linted as they are.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint, lint_file

from infra.sam_translate import load_sam_template, translate
from tests.shared.paths import ROOT

LINT_CONFIG = ManualArgs(regions=["us-east-1"])
# Each case's id names it for the validate targets (`make validate-web` runs `...[web-JWT]`).
SAM_TEMPLATES = {
    "template": ("template.yaml", {}),
    "web-AWS_IAM": ("infra/templates/web.yaml", {"AuthMode": "AWS_IAM"}),
    "web-JWT": ("infra/templates/web.yaml", {"AuthMode": "JWT"}),
}
PLAIN_TEMPLATES = {name: f"infra/templates/{name}.yaml" for name in ("resources", "batch", "backfill")}


def problems(matches: list[Any]) -> list[str]:
    return [f"{match.rule.id} {match.message}" for match in matches]


def test_every_template_is_checked_here():
    """A new template in the repository is linted too: it must be named in one of the two lists."""
    templates = {str(path.relative_to(ROOT)) for path in [ROOT / "template.yaml", *(ROOT / "infra").rglob("*.yaml")]}
    assert templates == {name for name, _ in SAM_TEMPLATES.values()} | set(PLAIN_TEMPLATES.values())


@pytest.mark.parametrize(("name", "parameters"), SAM_TEMPLATES.values(), ids=SAM_TEMPLATES.keys())
def test_what_sam_deploys_is_lint_clean(name: str, parameters: dict[str, Any]) -> None:
    translated = translate(load_sam_template(ROOT / name), parameters)
    assert problems(lint(json.dumps(translated), config=LINT_CONFIG)) == []


@pytest.mark.parametrize("name", PLAIN_TEMPLATES.values(), ids=PLAIN_TEMPLATES.keys())
def test_plain_template_is_lint_clean(name: str) -> None:
    assert problems(lint_file(ROOT / name, config=LINT_CONFIG)) == []
