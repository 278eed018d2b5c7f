"""The SAM template and the infra template (linted in test_lint.py): the settings the deployment promises.

Assertions read the parsed templates, so removing a setting (bisect, a finite retry count, the on-failure
destination, an alarm) or widening a permission fails here, not in production.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from infra.sam_translate import load_sam_template, translate
from tests.shared.paths import ROOT

TEMPLATE = ROOT / "template.yaml"
INFRA = ROOT / "infra" / "templates" / "resources.yaml"
LINT_CONFIG = ManualArgs(regions=["us-east-1"])
ARN = "arn:${AWS::Partition}"
RIDES_ARN = f"{ARN}:kinesis:${{AWS::Region}}:${{AWS::AccountId}}:stream/${{RidesStreamName}}"
PREDICTIONS_ARN = f"{ARN}:kinesis:${{AWS::Region}}:${{AWS::AccountId}}:stream/${{PredictionsStreamName}}"
DEAD_LETTER_ARN = f"{ARN}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:${{DeadLetterQueueName}}"
ON_FAILURE_ARN = f"{ARN}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:${{OnFailureQueueName}}"


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template(TEMPLATE)


@pytest.fixture(scope="module")
def function(sam: dict[str, Any]) -> dict[str, Any]:
    return sam["Resources"]["ScorerFunction"]["Properties"]


@pytest.fixture(scope="module")
def kinesis_event(function: dict[str, Any]) -> dict[str, Any]:
    return function["Events"]["Rides"]["Properties"]


@pytest.fixture(scope="module")
def statements(sam: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each policy's statements; a policy under a condition (`Fn::If: [condition, policy, AWS::NoValue]`)
    counts as given, since the condition's stack grants it."""
    role = sam["Resources"]["ScorerRole"]["Properties"]
    policies = [policy["Fn::If"][1] if "Fn::If" in policy else policy for policy in role["Policies"]]
    return {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in policies}


def errors(matches: list[Any]) -> list[str]:
    return [f"{match.rule.id} {match.message}" for match in matches if match.rule.id.startswith("E")]


@pytest.mark.parametrize(
    ("field", "bad_value", "expected_rule"),
    [
        ("StartingPosition", "NEWEST", "E3031"),
        ("BatchSize", 20000, "E3034"),
        ("FunctionResponseTypes", ["ReportBatchItemFailure"], "E3030"),
    ],
)
def test_translation_then_lint_catches_bad_kinesis_values(
    sam: dict[str, Any], field: str, bad_value: Any, expected_rule: str
) -> None:
    """The reason the translator runs in `make test`: these slip past linting the SAM template itself."""
    broken = copy.deepcopy(sam)
    broken["Resources"]["ScorerFunction"]["Properties"]["Events"]["Rides"]["Properties"][field] = bad_value
    found = errors(lint(json.dumps(translate(broken)), config=LINT_CONFIG))
    assert any(line.startswith(expected_rule) for line in found), found


def test_function_is_an_image_with_tracing_and_the_scorer_environment(function: dict[str, Any]) -> None:
    assert function["PackageType"] == "Image"
    assert function["ImageUri"] == {"Ref": "ImageUri"}
    assert function["Tracing"] == {"Ref": "Tracing"}
    assert function["MemorySize"] == {"Ref": "MemorySize"}
    assert function["Timeout"] == 60
    assert function["Environment"]["Variables"] == {
        "MODEL_LOCATION": {"Fn::Sub": "s3://${ModelBucketName}/${ModelPrefix}"},
        "MODEL_NAME": {"Ref": "ModelName"},
        "MODEL_SHA256": {"Ref": "ModelSha256"},
        "CHALLENGER_MODEL_LOCATION": {
            "Fn::If": [
                "HasChallenger",
                {"Fn::Sub": "s3://${ModelBucketName}/${ChallengerPrefix}"},
                {"Ref": "AWS::NoValue"},
            ]
        },
        "CHALLENGER_MODEL_SHA256": {"Fn::If": ["HasChallenger", {"Ref": "ChallengerSha256"}, {"Ref": "AWS::NoValue"}]},
        "PREDICTIONS_STREAM_NAME": {"Ref": "PredictionsStreamName"},
        "DEAD_LETTER_QUEUE_URL": {
            "Fn::Sub": "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${DeadLetterQueueName}"
        },
        "POWERTOOLS_SERVICE_NAME": "ride-scorer",
        "POWERTOOLS_METRICS_NAMESPACE": "RideScorer",
        "POWERTOOLS_TRACE_DISABLED": {"Fn::If": ["IsTraced", "false", "true"]},
    }


def test_tracing_is_on_by_default_and_one_parameter_turns_off_traces_and_the_sdk(sam: dict[str, Any]) -> None:
    """X-Ray's mode and the handler's X-Ray SDK follow one parameter, so neither can be on without the other."""
    assert sam["Parameters"]["Tracing"]["Default"] == "Active"
    assert sam["Parameters"]["Tracing"]["AllowedValues"] == ["Active", "PassThrough"]
    assert sam["Conditions"]["IsTraced"] == {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}
    function = translate(copy.deepcopy(sam))["Resources"]["ScorerFunction"]["Properties"]
    assert function["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}


def test_the_model_pin_is_a_required_parameter_and_reaches_the_function(sam: dict[str, Any]) -> None:
    """No default and no empty value: a stack cannot be deployed without the digest the scorer checks the model
    against, and the function always gets it (the scorer refuses to start without MODEL_SHA256)."""
    parameter = sam["Parameters"]["ModelSha256"]
    assert "Default" not in parameter
    assert parameter["AllowedPattern"] == "^[0-9a-f]{64}$"
    assert "HasModelSha256" not in sam.get("Conditions", {})
    variables = sam["Resources"]["ScorerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MODEL_SHA256"] == {"Ref": "ModelSha256"}
    assert "ALLOW_UNPINNED_MODEL" not in variables


def test_the_challenger_is_optional_pinned_when_given_and_read_only_under_its_prefix(sam: dict[str, Any]) -> None:
    parameters = sam["Parameters"]
    assert (parameters["ChallengerPrefix"]["Default"], parameters["ChallengerSha256"]["Default"]) == ("", "")
    assert parameters["ChallengerSha256"]["AllowedPattern"] == "^([0-9a-f]{64})?$"
    assert sam["Conditions"]["HasChallenger"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ChallengerPrefix"}, ""]}]}
    rule = sam["Rules"]["ChallengerIsPinned"]
    assert rule["RuleCondition"] == sam["Conditions"]["HasChallenger"]
    assert [assertion["Assert"] for assertion in rule["Assertions"]] == [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "ChallengerSha256"}, ""]}]}
    ]


def test_kinesis_event_reports_partial_failures_and_gives_up_finitely(
    sam: dict[str, Any], kinesis_event: dict[str, Any]
) -> None:
    assert kinesis_event == {
        "Stream": {"Fn::Sub": RIDES_ARN},
        "StartingPosition": {"Ref": "StartingPosition"},
        "BatchSize": {"Ref": "BatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "MaximumBatchingWindowInSeconds"},
        "ParallelizationFactor": {"Ref": "ParallelizationFactor"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": {"Ref": "MaximumRetryAttempts"},
        "MaximumRecordAgeInSeconds": {"Ref": "MaximumRecordAgeInSeconds"},
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Fn::Sub": ON_FAILURE_ARN}}},
    }
    parameters = sam["Parameters"]
    # Finite: -1 (forever) is outside the allowed range of both.
    assert parameters["MaximumRetryAttempts"]["MinValue"] == 0
    assert parameters["MaximumRetryAttempts"]["MaxValue"] == 10000
    assert parameters["MaximumRecordAgeInSeconds"]["MinValue"] == 60
    assert parameters["MaximumRecordAgeInSeconds"]["MaxValue"] == 604800
    assert parameters["StartingPosition"]["AllowedValues"] == ["LATEST", "TRIM_HORIZON"]
    assert (parameters["BatchSize"]["MinValue"], parameters["BatchSize"]["MaxValue"]) == (1, 10000)
    assert (parameters["ParallelizationFactor"]["MinValue"], parameters["ParallelizationFactor"]["MaxValue"]) == (1, 10)
    window = parameters["MaximumBatchingWindowInSeconds"]
    assert (window["MinValue"], window["MaxValue"]) == (0, 300)
    # Lambda's own bounds for a function's memory (MB); make capacity plans within them.
    memory = parameters["MemorySize"]
    assert (memory["Type"], memory["Default"], memory["MinValue"], memory["MaxValue"]) == ("Number", 1024, 128, 10240)


def test_role_grants_each_action_only_on_its_resource(sam: dict[str, Any], statements: dict[str, Any]) -> None:
    role = sam["Resources"]["ScorerRole"]["Properties"]
    assert "ManagedPolicyArns" not in role, "a managed policy would grant far more than the scorer uses"
    assert sam["Resources"]["ScorerFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["ScorerRole", "Arn"]}
    grants = {
        name: [(statement["Action"], statement["Resource"]) for statement in policy]
        for name, policy in statements.items()
    }
    assert grants == {
        "read-rides-stream": [
            (
                [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ],
                {"Fn::Sub": RIDES_ARN},
            )
        ],
        "write-predictions-stream": [("kinesis:PutRecords", {"Fn::Sub": PREDICTIONS_ARN})],
        "read-model": [
            ("s3:GetObject", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}/${{ModelPrefix}}/*"}),
            ("s3:ListBucket", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}"}),
        ],
        "read-challenger-model": [
            ("s3:GetObject", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}/${{ChallengerPrefix}}/*"}),
            ("s3:ListBucket", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}"}),
        ],
        "send-dead-letters": [("sqs:SendMessage", {"Fn::Sub": DEAD_LETTER_ARN})],
        "send-on-failure": [("sqs:SendMessage", {"Fn::Sub": ON_FAILURE_ARN})],
        "write-logs": [(["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["ScorerLogGroup", "Arn"]})],
        "write-traces": [(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")],
    }
    list_bucket = statements["read-model"][1]
    assert list_bucket["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${ModelPrefix}/*"}}}
    challenger_listing = statements["read-challenger-model"][1]
    assert challenger_listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${ChallengerPrefix}/*"}}}
    (conditional,) = [policy for policy in role["Policies"] if "Fn::If" in policy]
    assert conditional["Fn::If"][0] == "HasChallenger" and conditional["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert all(statement["Effect"] == "Allow" for policy in statements.values() for statement in policy)


def test_no_wildcard_action_anywhere(statements: dict[str, Any]) -> None:
    actions = [
        action
        for policy in statements.values()
        for statement in policy
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert [action for action in actions if "*" in action] == []


def test_translation_adds_no_role_or_policy_of_its_own(sam: dict[str, Any]) -> None:
    """SAM attaches AWSLambdaKinesisExecutionRole to roles it generates, and makes CodeDeploy a role with
    AWSCodeDeployRoleForLambda (every alias, alarm and CodeDeployHook_* function); with our own roles it must
    not."""
    resources = translate(copy.deepcopy(sam))["Resources"]
    iam = {name: resource["Type"] for name, resource in resources.items() if resource["Type"].startswith("AWS::IAM")}
    assert iam == dict.fromkeys(["ScorerRole", "DeploymentRole", "PreTrafficHookRole"], "AWS::IAM::Role")
    for role in iam:
        assert "ManagedPolicyArns" not in resources[role]["Properties"]
    assert resources["ScorerRole"] == sam["Resources"]["ScorerRole"]
    assert resources["DeploymentRole"] == sam["Resources"]["DeploymentRole"]


def watched_metric(alarm: dict[str, Any]) -> dict[str, Any]:
    """The metric an alarm watches: its own, or the one its metric-math expression is computed from."""
    if "Metrics" not in alarm:
        return alarm
    (stat,) = [query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query]
    return stat["Metric"]


def test_alarms_watch_lag_errors_throttles_both_queues_and_model_health(sam: dict[str, Any]) -> None:
    alarms = {
        name: resource["Properties"]
        for name, resource in sam["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    watched = {
        (metric["Namespace"], metric["MetricName"], json.dumps(metric["Dimensions"], sort_keys=True))
        for metric in map(watched_metric, alarms.values())
    }
    per_service = json.dumps([{"Name": "service", "Value": "ride-scorer"}], sort_keys=True)
    function_dimension = json.dumps([{"Name": "FunctionName", "Value": {"Ref": "ScorerFunction"}}], sort_keys=True)
    alias_dimensions = [
        {"Name": "FunctionName", "Value": {"Ref": "ScorerFunction"}},
        {"Name": "Resource", "Value": {"Fn::Sub": "${ScorerFunction}:live"}},
    ]
    version_dimension = {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": ["ScorerFunction.Version", "Version"]}}
    assert watched == {
        ("AWS/Lambda", "Errors", json.dumps(alias_dimensions, sort_keys=True)),
        ("AWS/Lambda", "Errors", json.dumps([*alias_dimensions, version_dimension], sort_keys=True)),
        ("AWS/Lambda", "IteratorAge", function_dimension),
        ("AWS/Lambda", "Errors", function_dimension),
        ("AWS/Lambda", "Throttles", function_dimension),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps([{"Name": "QueueName", "Value": {"Ref": "DeadLetterQueueName"}}], sort_keys=True),
        ),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps([{"Name": "QueueName", "Value": {"Ref": "OnFailureQueueName"}}], sort_keys=True),
        ),
        # Model health, per service: the dimension set health_metrics.py publishes beside the per-version one.
        ("RideScorer", "ShadowDisagreementShare", per_service),
        ("RideScorer", "UnseenPairShare", per_service),
        ("RideScorer", "PredictionsAboveReferenceMedianShare", per_service),
    }
    assert all(alarm["ComparisonOperator"] == "GreaterThanThreshold" for alarm in alarms.values())
    # Drift is the share above the training median moving away from one half, either way.
    (expression,) = [query for query in alarms["PredictionDriftAlarm"]["Metrics"] if "Expression" in query]
    assert (expression["Expression"], expression["ReturnData"]) == ("ABS(above - 0.5)", True)
    assert alarms["PredictionDriftAlarm"]["Threshold"] == {"Ref": "PredictionDriftAlarmDeviation"}


def test_outputs_name_the_function_and_every_arn(sam: dict[str, Any]) -> None:
    assert set(sam["Outputs"]) == {
        "ScorerFunctionName",
        "ScorerFunctionArn",
        "ScorerRoleArn",
        "RidesStreamArn",
        "PredictionsStreamArn",
        "DeadLetterQueueArn",
        "OnFailureQueueArn",
        "LogGroupName",
        "ScorerAliasArn",
        "PreTrafficHookName",
        "DashboardName",
    }
    assert sam["Outputs"]["ScorerFunctionName"]["Value"] == {"Ref": "ScorerFunction"}


def test_infra_resources_are_encrypted_versioned_and_private() -> None:
    resources = yaml.safe_load(INFRA.read_text(encoding="utf-8"))["Resources"]
    for stream in ("RidesStream", "PredictionsStream"):
        assert resources[stream]["Properties"]["StreamEncryption"] == {
            "EncryptionType": "KMS",
            "KeyId": "alias/aws/kinesis",
        }
    bucket = resources["ModelBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    assert "BucketEncryption" in bucket
    for queue in ("DeadLetterQueue", "OnFailureQueue"):
        assert resources[queue]["Properties"]["SqsManagedSseEnabled"] is True
    assert resources["ImageRepository"]["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def test_model_bucket_denies_every_request_without_tls() -> None:
    """The scorer loads what it reads from the model bucket: nothing may reach it over plain HTTP."""
    resources = yaml.safe_load(INFRA.read_text(encoding="utf-8"))["Resources"]
    policies = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::S3::BucketPolicy" and resource["Properties"]["Bucket"] == {"Ref": "ModelBucket"}
    ]
    assert len(policies) == 1
    assert policies[0]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "DenyRequestsWithoutTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ModelBucket}"},
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ModelBucket}/*"},
            ],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_samconfig_deploys_this_template_with_iam_capability() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    parameters = load_sam_template(TEMPLATE)["Parameters"]
    overridden = {entry.split("=", 1)[0] for entry in deploy["parameter_overrides"]}
    assert overridden <= set(parameters), overridden - set(parameters)
