"""Translate a SAM template to plain CloudFormation offline, so cfn-lint can check what SAM generates.

Neither `sam validate --lint` nor cfn-lint on the SAM template catches bad values inside a Kinesis event
(`StartingPosition: NEWEST`, `BatchSize: 20000`, a misspelt `ReportBatchItemFailure`): they are only
checked once SAM has turned the event into an AWS::Lambda::EventSourceMapping. aws-sam-translator does
that here without an AWS account; linting its output catches them.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# Pseudo parameters an offline translation needs; they only shape generated names and ARNs.
PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
# `sam deploy` uploads a zip function's local CodeUri folder and writes its S3 location into the template;
# offline nothing is uploaded, so this location stands in for it (as `sam validate` does).
UPLOADED_CODE_PLACEHOLDER = "s3://sam-translate-placeholder/code.zip"
# The translator asks its feature toggles (a config SAM's own service serves from AppConfig) about a fix it
# has, and warns on every `make validate` that the offline default config does not list it: the default is
# what an offline `sam validate` and this translation use, and the warning only taught users to skip lines.
logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)
# Its metrics object warns, when collected, that nobody published its metrics: they are for SAM's own service.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)


def load_sam_template(path: Path = TEMPLATE) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "Resources" not in document:
        raise ValueError(f"{path} is not a SAM template")
    return document


def translate(template: dict[str, Any], parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy. No managed policies are resolved: the function has
    its own role, and a template that needs one (a SAM policy template) fails here rather than in AWS."""
    values = {**PSEUDO_PARAMETERS, **(parameter_values or {})}
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        code = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code, str) and "://" not in code:
            properties["CodeUri"] = UPLOADED_CODE_PLACEHOLDER
    # The session only supplies a region name; no call is made.
    session = boto3.session.Session(region_name=values["AWS::Region"])
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    return translator.translate(sam_template=template, parameter_values=values)


def main() -> None:
    parser = argparse.ArgumentParser(description="Translate a SAM template to CloudFormation JSON, offline.")
    parser.add_argument("template", type=Path, nargs="?", default=TEMPLATE)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(translate(load_sam_template(args.template)), indent=2), encoding="utf-8")
    print(f"translated {args.template} -> {args.output}")


if __name__ == "__main__":
    main()
