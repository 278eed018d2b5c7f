"""infra/templates/web.yaml, the web Lambda's stack (linted in test_lint.py, validated by the SAM CLI in
test_sam_cli.py), holding the settings it promises (auth never NONE, least privilege, throttling, access logs, alarms),
and `make deploy-web` refusing to start without what it needs.

Assertions read the parsed template, so removing a setting or widening a permission fails here.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from awslambdaric.lambda_runtime_marshaller import to_json

from infra.sam_translate import load_sam_template, translate
from ride_scorer.core.settings import ModelSettings
from ride_scorer.http_service.answer_size import LARGEST_SAFE_REQUEST_BYTES, LONGEST_FLOAT
from ride_scorer.http_service.app import create_app
from ride_scorer.http_service.settings import ServiceSettings
from tests.shared.fakes.models import fake_model
from tests.shared.lambda_context import lambda_context
from tests.shared.make import run_make
from tests.shared.paths import ROOT
from tests.shared.web_events import web_event

TEMPLATE = ROOT / "infra" / "templates" / "web.yaml"
ARN = "arn:${AWS::Partition}"
EXECUTE_API = f"{ARN}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{HttpApi}}"
PIN = "0123456789abcdef" * 4
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ride-scorer-service:0a1b2c3d4e5f"
# Lambda's synchronous invocation payload limit; API Gateway may base64-encode the body inside it.
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
# The service's own routes and MLflow's scoring protocol's.
ROUTES = ("POST /predict", "GET /health", "POST /invocations", "GET /ping", "GET /version")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_sam_template(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def function(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["WebFunction"]["Properties"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def resolve(value: Any, conditions: dict[str, bool]) -> Any:
    """The value with every Fn::If decided by `conditions`, and AWS::NoValue dropped: what CloudFormation
    deploys for that choice of parameters."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return resolve(when_true if conditions[name] else when_false, conditions)
        resolved = {key: resolve(item, conditions) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [resolve(item, conditions) for item in value]
    return value


EVERY_CHOICE = [
    {"UseJwt": use_jwt, "HasFunctionUrl": url, "HasReservedConcurrency": False, "HasAlarmTopic": False}
    for use_jwt in (False, True)
    for url in (False, True)
]


def test_the_function_runs_the_batch_http_image_with_the_lambda_handler(function: dict[str, Any]) -> None:
    assert function["PackageType"] == "Image"
    assert function["ImageUri"] == {"Ref": "ServiceImageUri"}
    assert function["ImageConfig"] == {
        "EntryPoint": ["python", "-m", "awslambdaric"],
        "Command": ["ride_scorer.http_service.aws_lambda.handler"],
        "WorkingDirectory": "/app",  # Dockerfile.batch's WORKDIR, where its code is
    }
    module, _, name = function["ImageConfig"]["Command"][0].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert importlib.util.find_spec("awslambdaric.__main__") is not None
    assert function["Environment"]["Variables"] == {
        "MODEL_LOCATION": {"Fn::Sub": "s3://${ModelBucketName}/${ModelPrefix}"},
        "MODEL_NAME": {"Ref": "ModelName"},
        "MODEL_SHA256": {"Ref": "ModelSha256"},
        "MAX_REQUEST_BYTES": {"Ref": "MaxRequestBytes"},
    }
    assert function["Timeout"] < 30  # API Gateway's integration timeout: the function stops first
    assert "Events" not in function  # the API below is the only way in, with its auth


def test_the_model_pin_and_the_image_are_required_parameters(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name in ("ModelSha256", "ServiceImageUri", "ModelBucketName", "ModelPrefix"):
        assert "Default" not in parameters[name], name
    assert parameters["ModelSha256"]["AllowedPattern"] == "^[0-9a-f]{64}$"
    assert "ALLOW_UNPINNED_MODEL" not in json.dumps(template)


def test_the_image_parameter_takes_an_ecr_image_only(template: dict[str, Any]) -> None:
    """Lambda runs container images from ECR only; a Docker Hub name fails at the parameter, not mid-deploy."""
    pattern = re.compile(template["Parameters"]["ServiceImageUri"]["AllowedPattern"])
    assert pattern.fullmatch(IMAGE)
    assert pattern.fullmatch(IMAGE.split(":")[0] + "@sha256:" + "ab" * 32)
    assert not pattern.fullmatch("docker.io/library/ride-scorer:latest")
    assert not pattern.fullmatch(IMAGE.split(":")[0])  # no tag: which image would run is not pinned


def test_the_largest_allowed_body_fits_a_lambda_invocation_base64_encoded(template: dict[str, Any]) -> None:
    largest = template["Parameters"]["MaxRequestBytes"]["MaxValue"]
    encoded = 4 * -(-largest // 3)
    assert encoded + 64 * 1024 < LAMBDA_PAYLOAD_BYTES  # headers and request context fit in the rest


class LongestFloats:
    """A model whose every duration is written as long as a float can be: the largest answer per ride."""

    def predict(self, features: list[Any]) -> list[float]:
        return [float(LONGEST_FLOAT)] * len(features)


def worst_case_body(route: str, size: int) -> bytes:
    """A valid body of `size` bytes with the largest answer a body that size can get: for /invocations, rows
    of columnar `inputs` ("0," in each column); for /predict, rides with 128-character ids of 4-byte
    characters (escaped twice on the way out: 3.4 times their size)."""
    if route == "/invocations":
        rows = (size - 65) // 6
        column = "[" + ",".join("0" * rows) + "]"
        body = f'{{"inputs":{{"PULocationID":{column},"DOLocationID":{column},"trip_distance":{column}}}}}'.encode()
    else:
        ride = b'{"ride":{"PULocationID":0,"DOLocationID":0,"trip_distance":0},"ride_id":"' + "😀".encode() * 128
        body = b"[" + b",".join([ride + b'"}'] * ((size - 2) // (len(ride) + 3))) + b"]"
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("route", [pytest.param("/invocations", marks=pytest.mark.slow), "/predict"])
def test_no_body_up_to_the_largest_max_request_bytes_gets_an_answer_lambda_cannot_return(
    template: dict[str, Any], route: str
) -> None:
    """A 4 MiB body of valid rides once got a 9.17 MB answer, past Lambda's 6 MB: MaxRequestBytes' maximum is
    the largest body whose answer always fits (answer_size), and no larger: a few more rows are a 413."""
    largest = template["Parameters"]["MaxRequestBytes"]["MaxValue"]
    assert largest == LARGEST_SAFE_REQUEST_BYTES
    assert re.fullmatch(template["Parameters"]["ModelName"]["AllowedPattern"], "m" * 64)
    model = fake_model(LongestFloats(), version="0123456789abcdef" * 2)  # an MLflow run id's length
    settings = ServiceSettings(ModelSettings("unused", model_name="m" * 64), max_request_bytes=largest + 1024)
    handler = make_lambda_handler(create_app(settings, model))

    response = handler(web_event("http-api-proxy", worst_case_body(route, largest), path=route), lambda_context())

    assert response["statusCode"] == 200
    assert len(to_json(response).encode()) <= LAMBDA_PAYLOAD_BYTES  # what awslambdaric sends back
    if route == "/invocations":
        bigger = handler(web_event("http-api-proxy", worst_case_body(route, largest + 1024), path=route), None)
        assert (bigger["statusCode"], json.loads(bigger["body"])["error"]["code"]) == (413, "answer_too_large")


@pytest.mark.parametrize("choice", EVERY_CHOICE, ids=lambda c: f"jwt={c['UseJwt']},url={c['HasFunctionUrl']}")
def test_authentication_is_on_for_every_way_in(resources: dict[str, Any], choice: dict[str, bool]) -> None:
    """No route, URL or parameter choice leaves the service open: IAM (SigV4) by default, else JWT."""
    routes = {
        resource["Properties"]["RouteKey"]: resolve(resource["Properties"], choice)
        for resource in of_type(resources, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == set(ROUTES)  # no $default catch-all
    expected = "JWT" if choice["UseJwt"] else "AWS_IAM"
    assert {route["AuthorizationType"] for route in routes.values()} == {expected}
    if choice["UseJwt"]:
        assert {json.dumps(route["AuthorizerId"]) for route in routes.values()} == {'{"Ref": "JwtAuthorizer"}'}
    else:
        assert not [route for route in routes.values() if "AuthorizerId" in route]
    (url,) = of_type(resources, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    assert url["Condition"] == "HasFunctionUrl"


def test_a_jwt_authorizer_needs_an_issuer_and_an_audience(template: dict[str, Any]) -> None:
    authorizer = template["Resources"]["JwtAuthorizer"]
    assert authorizer["Condition"] == "UseJwt"
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Issuer": {"Ref": "JwtIssuer"},
        "Audience": [{"Ref": "JwtAudience"}],
    }
    assert template["Parameters"]["AuthMode"] == {
        **template["Parameters"]["AuthMode"],
        "Default": "AWS_IAM",
        "AllowedValues": ["AWS_IAM", "JWT"],
    }
    assertions = template["Rules"]["JwtNeedsIssuerAndAudience"]["Assertions"]
    assert [assertion["Assert"] for assertion in assertions] == [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]} for name in ("JwtIssuer", "JwtAudience")
    ]


def test_role_reads_the_model_prefix_only_and_writes_its_log_group(resources: dict[str, Any]) -> None:
    role = resources["WebRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert resources["WebFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["WebRole", "Arn"]}
    statements = {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Policies"]}
    grants = {name: [(s["Effect"], s["Action"], s["Resource"]) for s in policy] for name, policy in statements.items()}
    assert grants == {
        "read-model": [
            ("Allow", "s3:GetObject", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}/${{ModelPrefix}}/*"}),
            ("Allow", "s3:ListBucket", {"Fn::Sub": f"{ARN}:s3:::${{ModelBucketName}}"}),
        ],
        "write-logs": [
            ("Allow", ["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["WebLogGroup", "Arn"]})
        ],
        # X-Ray has no resource-level permissions: the one "*" resource, for its two actions only.
        "write-traces": [("Allow", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")],
    }
    assert statements["read-model"][1]["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${ModelPrefix}/*"}}}


def test_no_wildcard_action_and_api_gateway_may_invoke_only_the_two_routes(resources: dict[str, Any]) -> None:
    role = resources["WebRole"]["Properties"]
    actions = [
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert [action for action in actions if "*" in action] == []
    permissions = [resource["Properties"] for resource in of_type(resources, "AWS::Lambda::Permission").values()]
    assert sorted(json.dumps(p["SourceArn"]) for p in permissions) == sorted(
        json.dumps({"Fn::Sub": f"{EXECUTE_API}/*/{route.replace(' /', '/')}"}) for route in ROUTES
    )
    assert {(p["Action"], p["Principal"]) for p in permissions} == {
        ("lambda:InvokeFunction", "apigateway.amazonaws.com")
    }


def test_translation_adds_no_role_policy_or_open_route(template: dict[str, Any]) -> None:
    resources = translate(copy.deepcopy(template))["Resources"]
    iam = {name: resource["Type"] for name, resource in resources.items() if resource["Type"].startswith("AWS::IAM")}
    assert iam == {"WebRole": "AWS::IAM::Role"}
    assert resources["WebRole"] == template["Resources"]["WebRole"]
    assert {name for name, resource in resources.items() if resource["Type"].startswith("AWS::ApiGatewayV2")} == {
        "HttpApi",
        "WebIntegration",
        "JwtAuthorizer",
        "PredictRoute",
        "HealthRoute",
        "InvocationsRoute",
        "PingRoute",
        "VersionRoute",
        "DefaultStage",
    }


def test_the_stage_throttles_and_writes_json_access_logs(template: dict[str, Any], resources: dict[str, Any]) -> None:
    stage = resources["DefaultStage"]["Properties"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
    }
    parameters = template["Parameters"]
    assert (parameters["ThrottlingRateLimit"]["Default"], parameters["ThrottlingBurstLimit"]["Default"]) == (50, 100)
    assert parameters["ThrottlingRateLimit"]["MinValue"] >= 1 and parameters["ThrottlingBurstLimit"]["MinValue"] >= 1
    logs = stage["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}
    fields = json.loads(logs["Format"])  # every $context variable sits in a JSON string
    assert {"requestId", "caller", "route", "status", "latency", "integrationError", "authorizerError"} <= set(fields)
    assert fields["status"] == "$context.status"
    for group in ("AccessLogGroup", "WebLogGroup"):
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert resources["WebFunction"]["Properties"]["LoggingConfig"] == {
        "LogGroup": {"Ref": "WebLogGroup"},
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
    }


def test_the_integration_is_a_payload_2_proxy_to_the_function(resources: dict[str, Any]) -> None:
    integration = resources["WebIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"  # the event shape the tests feed the handler
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["WebFunction", "Arn"]}


def test_alarms_watch_5xx_p99_latency_and_function_errors(resources: dict[str, Any]) -> None:
    alarms = {name: resource["Properties"] for name, resource in of_type(resources, "AWS::CloudWatch::Alarm").items()}
    api = [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}, {"Name": "Stage", "Value": "$default"}]
    watched = {
        (a["Namespace"], a["MetricName"], a.get("Statistic") or a["ExtendedStatistic"], json.dumps(a["Dimensions"]))
        for a in alarms.values()
    }
    assert watched == {
        ("AWS/ApiGateway", "5xx", "Sum", json.dumps(api)),
        ("AWS/ApiGateway", "Latency", "p99", json.dumps(api)),
        ("AWS/Lambda", "Errors", "Sum", json.dumps([{"Name": "FunctionName", "Value": {"Ref": "WebFunction"}}])),
    }
    assert all(alarm["ComparisonOperator"] == "GreaterThanThreshold" for alarm in alarms.values())
    assert alarms["LatencyAlarm"]["Threshold"] == {"Ref": "LatencyAlarmMilliseconds"}


# `make deploy-web`: the checks come before any AWS call (`-n` prints the deploy command instead of running it).

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
COMPLETE = {
    "SERVICE_IMAGE_URI": IMAGE,
    "MODEL_RUN_ID": "abc",
    "MODEL_SHA256": PIN,
    "MODEL_BUCKET": "models",
}


def make_deploy_web(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_make(*arguments, "deploy-web", variables=variables, unset=COMPLETE)


@needs_make
@pytest.mark.parametrize(
    ("missing", "line"),
    [
        ("SERVICE_IMAGE_URI", "SERVICE_IMAGE_URI is not set: the batch/HTTP image in ECR"),
        ("MODEL_RUN_ID", "MODEL_RUN_ID is not set: the run id make publish-model printed"),
        ("MODEL_SHA256", "MODEL_SHA256 is not set: the digest make publish-model printed"),
    ],
)
def test_deploy_web_without_a_variable_stops_naming_it(missing: str, line: str) -> None:
    result = make_deploy_web(**{name: value for name, value in COMPLETE.items() if name != missing})
    assert result.returncode == 2
    (message,) = [text for text in result.stderr.splitlines() if not text.startswith("make")]
    assert message.startswith(line)
    assert "cloudformation" not in result.stdout + result.stderr


@needs_make
def test_deploy_web_with_a_malformed_pin_stops_naming_it() -> None:
    result = make_deploy_web(**{**COMPLETE, "MODEL_SHA256": "3f0c"})
    assert result.returncode == 2
    assert "MODEL_SHA256=3f0c must be 64 lowercase hexadecimal characters" in result.stderr


@needs_make
def test_deploy_web_passes_the_image_model_and_pin_to_the_stack() -> None:
    result = make_deploy_web("-n", **COMPLETE, WEB_PARAMETERS="AuthMode=JWT")
    assert result.returncode == 0, result.stderr
    assert "--template-file infra/templates/web.yaml" in result.stdout
    assert f"ServiceImageUri={IMAGE} ModelBucketName=$bucket" in result.stdout
    assert f"ModelPrefix=models/ride-duration/abc ModelSha256={PIN} AuthMode=JWT" in result.stdout
    assert 'bucket="models"' in result.stdout
