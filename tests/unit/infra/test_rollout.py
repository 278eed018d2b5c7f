"""The template's safe rollout: the live alias, CodeDeploy's shifting and rollback alarms, the pre-traffic
hook and its least privilege, and the dashboard. Read from template.yaml and from what SAM turns it into
(infra/sam_translate.py), since the alias, the version, the deployment group and the event source mapping
exist only after translation.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from typing import Any

import pytest

from infra.functions.pre_traffic import app as hook
from infra.sam_translate import load_sam_template, translate
from lambda_function import app
from tests.shared.paths import ROOT

HOOK_DIR = ROOT / "infra" / "functions" / "pre_traffic"
FUNCTION_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}"
DEPLOYMENT_TYPES = ["Canary10Percent5Minutes", "Linear10PercentEvery1Minute", "AllAtOnce"]


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def translated(sam: dict[str, Any]) -> dict[str, Any]:
    return translate(copy.deepcopy(sam))["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def grants(role: dict[str, Any]) -> dict[str, list[tuple[str, Any, Any]]]:
    return {
        policy["PolicyName"]: [
            (statement["Effect"], statement["Action"], statement["Resource"])
            for statement in policy["PolicyDocument"]["Statement"]
        ]
        for policy in role["Properties"]["Policies"]
    }


def test_the_function_publishes_a_live_alias_shifted_by_codedeploy(sam: dict[str, Any]) -> None:
    function = sam["Resources"]["ScorerFunction"]["Properties"]
    assert function["AutoPublishAlias"] == "live"
    preference = function["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert preference["Role"] == {"Fn::GetAtt": ["DeploymentRole", "Arn"]}
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    parameter = sam["Parameters"]["DeploymentType"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("Canary10Percent5Minutes", DEPLOYMENT_TYPES)


@pytest.mark.parametrize("deployment_type", DEPLOYMENT_TYPES)
def test_the_deployment_type_parameter_picks_codedeploys_config(sam: dict[str, Any], deployment_type: str) -> None:
    resources = translate(copy.deepcopy(sam), {"DeploymentType": deployment_type})["Resources"]
    (group,) = of_type(resources, "AWS::CodeDeploy::DeploymentGroup").values()
    config = group["Properties"]["DeploymentConfigName"]
    assert config == {"Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": deployment_type}]}
    assert group["Properties"]["AutoRollbackConfiguration"]["Events"] == [
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    ]


def test_the_event_source_mapping_invokes_the_alias(translated: dict[str, Any]) -> None:
    (alias_name,) = of_type(translated, "AWS::Lambda::Alias")
    assert translated[alias_name]["Properties"]["Name"] == "live"
    (mapping,) = of_type(translated, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {"Ref": alias_name}


def test_rollback_alarms_are_the_function_alarms_and_the_new_versions_errors(translated: dict[str, Any]) -> None:
    (group,) = of_type(translated, "AWS::CodeDeploy::DeploymentGroup").values()
    alarms = group["Properties"]["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    assert [alarm["Name"] for alarm in alarms["Alarms"]] == [
        {"Ref": name}
        for name in ["IteratorAgeAlarm", "ErrorsAlarm", "ThrottlesAlarm", "AliasErrorsAlarm", "NewVersionErrorsAlarm"]
    ]
    (version_name,) = of_type(translated, "AWS::Lambda::Version")
    dimensions = translated["NewVersionErrorsAlarm"]["Properties"]["Dimensions"]
    assert {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": [version_name, "Version"]}} in dimensions
    assert {"Name": "Resource", "Value": {"Fn::Sub": "${ScorerFunction}:live"}} in dimensions


def test_the_hook_runs_before_traffic_with_the_new_versions_arn(translated: dict[str, Any]) -> None:
    (alias,) = of_type(translated, "AWS::Lambda::Alias").values()
    (version_name,) = of_type(translated, "AWS::Lambda::Version")
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficHook"}
    properties = translated["PreTrafficHook"]["Properties"]
    assert properties["Environment"]["Variables"] == {
        "SCORER_VERSION_ARN": {"Ref": version_name},
        "EXPECTED_MODEL_NAME": {"Ref": "ModelName"},
        "MODEL_LOCATION": {"Fn::Sub": "s3://${ModelBucketName}/${ModelPrefix}"},
        "MODEL_SHA256": {"Ref": "ModelSha256"},
    }
    assert (properties["Runtime"], properties["Handler"], properties["Timeout"]) == ("python3.12", "app.handler", 120)


def test_the_hook_code_is_its_folder_and_imports_only_what_the_runtime_has(sam: dict[str, Any]) -> None:
    """The zip carries the CodeUri folder: the hook alone, importing the standard library and the python3.12
    runtime's boto3, nothing of ride_scorer (which the scorer's image carries, not this function)."""
    assert sam["Resources"]["PreTrafficHook"]["Properties"]["CodeUri"] == "infra/functions/pre_traffic/"
    assert sorted(path.name for path in HOOK_DIR.iterdir() if path.name != "__pycache__") == ["__init__.py", "app.py"]
    tree = ast.parse((HOOK_DIR / "app.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"boto3", "botocore", "__future__"} <= {
        "collections", "dataclasses", "hashlib", "json", "math", "os", "re", "time", "typing"
    }  # fmt: skip
    assert callable(hook.handler)


def test_the_hook_and_the_handler_agree_on_the_check_event() -> None:
    assert hook.CHECK_EVENT_KEY == app.CHECK_EVENT_KEY


def test_the_hook_may_invoke_only_the_scorers_versions_and_report_to_this_application(sam: dict[str, Any]) -> None:
    role = sam["Resources"]["PreTrafficHookRole"]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert grants(role) == {
        "invoke-new-version": [
            ("Allow", "lambda:InvokeFunction", {"Fn::Sub": f"{FUNCTION_ARN}-scorer:*"}),
            (
                "Deny",
                "lambda:InvokeFunction",
                [{"Fn::Sub": f"{FUNCTION_ARN}-scorer:live"}, {"Fn::Sub": f"{FUNCTION_ARN}-scorer:$LATEST"}],
            ),
        ],
        "read-check-set": [
            (
                "Allow",
                "s3:GetObject",
                [
                    {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{ModelBucketName}}/${{ModelPrefix}}/{name}"}
                    for name in ("model.sha256", "scorer/check_set.json")
                ],
            )
        ],
        "report-to-codedeploy": [
            (
                "Allow",
                "codedeploy:PutLifecycleEventHookExecutionStatus",
                {
                    "Fn::Sub": "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:"
                    "deploymentgroup:${ServerlessDeploymentApplication}/*"
                },
            )
        ],
        "write-logs": [
            ("Allow", ["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["PreTrafficHookLogGroup", "Arn"]})
        ],
    }


def test_codedeploy_may_shift_only_this_alias_read_this_stacks_alarms_and_run_this_hook(sam: dict[str, Any]) -> None:
    role = sam["Resources"]["DeploymentRole"]
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "codedeploy.amazonaws.com"}
    assert grants(role) == {
        "shift-live-alias": [
            (
                "Allow",
                ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                [{"Fn::Sub": f"{FUNCTION_ARN}-scorer"}, {"Fn::Sub": f"{FUNCTION_ARN}-scorer:*"}],
            )
        ],
        "read-rollback-alarms": [
            (
                "Allow",
                "cloudwatch:DescribeAlarms",
                {
                    "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:"
                    "alarm:${AWS::StackName}-*"
                },
            )
        ],
        "run-hooks": [("Allow", "lambda:InvokeFunction", {"Fn::Sub": f"{FUNCTION_ARN}-pre-traffic"})],
    }
    functions = sam["Resources"]
    assert functions["ScorerFunction"]["Properties"]["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-scorer"}
    assert functions["PreTrafficHook"]["Properties"]["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-pre-traffic"}


# The dashboard.

PROMISED = {
    # (namespace, metric): the list, and where each comes from.
    ("RideScorer", "RecordsReceived"),  # records in (lambda_function/app.py, powertools EMF)
    ("RideScorer", "RecordsScored"),
    ("RideScorer", "RecordsDeadLettered"),
    ("RideScorer", "PutRecordsRetried"),
    ("AWS/Lambda", "IteratorAge"),
    ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "Duration"),
    ("AWS/Lambda", "Throttles"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),  # dead-letter queue depth
    # The model-health row (ride_scorer/stream/health_metrics.py, its own EMF document).
    ("RideScorer", "ShadowMeanAbsDifference"),
    ("RideScorer", "ShadowP95AbsDifference"),
    ("RideScorer", "ShadowDisagreementShare"),
    ("RideScorer", "ChallengerRejections"),
    ("RideScorer", "ChallengerFailures"),
    ("RideScorer", "ChampionScoringTime"),
    ("RideScorer", "ChallengerScoringTime"),
    ("RideScorer", "UnseenPairShare"),
    ("RideScorer", "OutOfRangeShare"),
    ("RideScorer", "PredictedMinutes"),
    ("RideScorer", "PredictionsAboveReferenceMedianShare"),
}
_SEARCH = re.compile(r"SEARCH\('\{([^,}]+),([^}]*)\}[^']*MetricName=\"([A-Za-z0-9]+)\"")


def dashboard_body(sam: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The body with every ${...} of its Fn::Sub replaced by a placeholder, and the names substituted."""
    template = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}!]+)\}", template))
    numbers = {"IteratorAgeAlarmMilliseconds", "ShadowDisagreementAlarmShare", "UnseenPairAlarmShare"}
    rendered = re.sub(r"\$\{([^}!]+)\}", lambda m: "60000" if m.group(1) in numbers else f"<{m.group(1)}>", template)
    return json.loads(rendered), names


def graphed(body: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(namespace, metric, dimension names) of every line: plain metrics and SEARCH expressions."""
    lines = []
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], dict):
                namespace, dimensions, name = _SEARCH.search(metric[0]["expression"]).groups()  # type: ignore[union-attr]
                lines.append((namespace, name, tuple(sorted(dimensions.split(",")))))
            else:
                names = [item for item in metric[2:] if isinstance(item, str)][::2]
                lines.append((metric[0], metric[1], tuple(sorted(names))))
    return lines


def test_the_dashboard_body_parses_and_substitutes_only_what_the_template_defines(sam: dict[str, Any]) -> None:
    body, names = dashboard_body(sam)
    assert body["widgets"]
    defined = set(sam["Parameters"]) | set(sam["Resources"]) | {"AWS::Region", "AWS::StackName"}
    assert {name.split(".")[0] if "::" not in name else name for name in names} <= defined


def test_the_dashboard_graphs_every_promised_metric(sam: dict[str, Any]) -> None:
    body, _ = dashboard_body(sam)
    assert {(namespace, name) for namespace, name, _ in graphed(body)} >= PROMISED


def test_the_scorers_own_metrics_and_lambdas_errors_and_duration_are_per_version(sam: dict[str, Any]) -> None:
    body, _ = dashboard_body(sam)
    for namespace, name, dimensions in graphed(body):
        if namespace == "RideScorer":
            assert dimensions == ("function_version", "model_version", "service"), name
        if (namespace, name) in {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Duration")}:
            assert dimensions == ("ExecutedVersion", "FunctionName", "Resource"), name


def test_the_dashboard_shows_every_alarm(sam: dict[str, Any]) -> None:
    body, _ = dashboard_body(sam)
    shown = [name for widget in body["widgets"] if widget["type"] == "alarm" for name in widget["properties"]["alarms"]]
    alarms = {name for name, resource in sam["Resources"].items() if resource["Type"] == "AWS::CloudWatch::Alarm"}
    assert sorted(shown) == sorted(f"<{name}.Arn>" for name in alarms)


def test_the_dashboards_metric_namespace_and_service_are_the_functions(sam: dict[str, Any]) -> None:
    variables = sam["Resources"]["ScorerFunction"]["Properties"]["Environment"]["Variables"]
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]) == (
        "RideScorer",
        "ride-scorer",
    )
    template = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert template.count('service=\\"ride-scorer\\"') == template.count("{RideScorer,") > 0
