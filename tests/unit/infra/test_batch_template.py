"""infra/templates/batch.yaml (the scheduled batch job on ECS Fargate) and the batch/HTTP image repository (linted in
test_lint.py): the settings the deployment promises. Assertions read the parsed template, so removing the schedule, the
logs or an alarm, or widening a permission, fails here and not in production."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from ride_scorer.batch.cli import parse_args
from tests.shared.paths import ROOT

BATCH = ROOT / "infra" / "templates" / "batch.yaml"
INFRA = ROOT / "infra" / "templates" / "resources.yaml"
S3 = "arn:${AWS::Partition}:s3:::"
CLOUDWATCH = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load(BATCH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def container(resources: dict[str, Any]) -> dict[str, Any]:
    (definition,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition  # type: ignore[no-any-return]


def statements(role: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in role["Properties"]["Policies"]}


def grants(role: dict[str, Any]) -> dict[str, list[tuple[Any, Any]]]:
    return {name: [(s["Action"], s["Resource"]) for s in policy] for name, policy in statements(role).items()}


def test_a_configurable_schedule_starts_the_task_definition_on_fargate(template: dict[str, Any]) -> None:
    schedule = template["Resources"]["Schedule"]["Properties"]
    assert schedule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert schedule["State"] == {"Ref": "ScheduleState"}
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "TaskDefinition"}
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    assert target["EcsParameters"]["TaskCount"] == 1
    parameters = template["Parameters"]
    assert parameters["ScheduleExpression"]["Default"] == "cron(0 3 * * ? *)"
    assert parameters["ScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    task = template["Resources"]["TaskDefinition"]["Properties"]
    assert (task["RequiresCompatibilities"], task["NetworkMode"]) == (["FARGATE"], "awsvpc")


def test_the_scheduler_may_only_run_this_task_and_pass_its_two_roles(resources: dict[str, Any]) -> None:
    (policy,) = statements(resources["SchedulerRole"]).values()
    assert policy == [
        {
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": {"Ref": "TaskDefinition"},
            "Condition": {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [{"Fn::GetAtt": ["TaskRole", "Arn"]}, {"Fn::GetAtt": ["ExecutionRole", "Arn"]}],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
    ]


def test_the_task_role_reads_input_and_model_writes_output_and_lists_only_those_prefixes(
    resources: dict[str, Any],
) -> None:
    role = resources["TaskRole"]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert grants(role) == {
        "read-input": [
            ("s3:GetObject", {"Fn::Sub": f"{S3}${{InputBucketName}}/${{InputPrefix}}/*"}),
            ("s3:ListBucket", {"Fn::Sub": f"{S3}${{InputBucketName}}"}),
        ],
        "read-model": [
            ("s3:GetObject", {"Fn::Sub": f"{S3}${{ModelBucketName}}/${{ModelPrefix}}/*"}),
            ("s3:ListBucket", {"Fn::Sub": f"{S3}${{ModelBucketName}}"}),
        ],
        "write-output": [
            (
                ["s3:PutObject", "s3:AbortMultipartUpload"],
                {"Fn::Sub": f"{S3}${{OutputBucketName}}/${{OutputPrefix}}/*"},
            ),
            ("s3:ListBucket", {"Fn::Sub": f"{S3}${{OutputBucketName}}"}),
        ],
    }
    conditions = {name: policy[1]["Condition"] for name, policy in statements(role).items()}
    assert conditions == {
        "read-input": {"StringLike": {"s3:prefix": [{"Fn::Sub": "${InputPrefix}/*"}]}},
        "read-model": {"StringLike": {"s3:prefix": [{"Fn::Sub": "${ModelPrefix}/*"}]}},
        "write-output": {"StringLike": {"s3:prefix": [{"Fn::Sub": "${OutputPrefix}/*"}]}},
    }
    assert resources["TaskDefinition"]["Properties"]["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}


def test_the_execution_role_pulls_only_the_service_image_and_writes_only_its_log_group(
    resources: dict[str, Any],
) -> None:
    assert grants(resources["ExecutionRole"]) == {
        # GetAuthorizationToken has no resource-level permission: "*" is the only resource it takes.
        "pull-image": [
            ("ecr:GetAuthorizationToken", "*"),
            (
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Prefix}-service"},
            ),
        ],
        "write-logs": [(["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["LogGroup", "Arn"]})],
    }


def test_no_wildcard_action_and_no_wildcard_resource_where_an_arn_exists(resources: dict[str, Any]) -> None:
    every = [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in statements(resource).values()
        for statement in policy
    ]
    actions = [action for s in every for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert [action for action in actions if "*" in action] == []
    assert [s["Action"] for s in every if s["Resource"] == "*"] == ["ecr:GetAuthorizationToken"]
    assert all(statement["Effect"] == "Allow" for statement in every)


def test_the_container_runs_the_prefix_job_with_the_pinned_model(container: dict[str, Any]) -> None:
    command = container["Command"]
    assert command[:3] == ["python", "-m", "ride_scorer.batch"]
    assert command[3:] == [
        "--input-prefix",
        {"Fn::Sub": "s3://${InputBucketName}/${InputPrefix}/"},
        "--output-prefix",
        {"Fn::Sub": "s3://${OutputBucketName}/${OutputPrefix}/"},
        "--no-progress",
    ]
    arguments = parse_args([argument if isinstance(argument, str) else "s3://b/p/" for argument in command[3:]])
    assert (arguments.input_prefix, arguments.no_progress, arguments.rescore) == ("s3://b/p/", True, False)
    assert {variable["Name"]: variable["Value"] for variable in container["Environment"]} == {
        "MODEL_LOCATION": {"Fn::Sub": "s3://${ModelBucketName}/${ModelPrefix}"},
        "MODEL_SHA256": {"Ref": "ModelSha256"},
        "MODEL_NAME": {"Ref": "ModelName"},
        "AWS_DEFAULT_REGION": {"Ref": "AWS::Region"},
    }
    assert container["Image"] == {"Ref": "ServiceImageUri"}


def test_the_model_pin_is_a_required_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["ModelSha256"]
    assert "Default" not in parameter
    assert parameter["AllowedPattern"] == "^[0-9a-f]{64}$"


def test_the_task_admits_no_inbound_traffic_and_sends_only_https(resources: dict[str, Any]) -> None:
    group = resources["TaskSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [(rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]] == [
        ("tcp", 443, 443)
    ]
    network = resources["Schedule"]["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]
    assert network["AwsvpcConfiguration"]["SecurityGroups"] == [{"Ref": "TaskSecurityGroup"}]


def test_logs_go_to_a_log_group_with_a_retention(resources: dict[str, Any], container: dict[str, Any]) -> None:
    assert container["LogConfiguration"] == {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": {"Ref": "LogGroup"},
            "awslogs-region": {"Ref": "AWS::Region"},
            "awslogs-stream-prefix": "batch",
        },
    }
    assert resources["LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_a_failed_run_matches_the_rule_that_notifies_and_raises_the_alarm(resources: dict[str, Any]) -> None:
    rule = resources["FailedRunRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [{"Fn::GetAtt": ["Cluster", "Arn"]}],
            "lastStatus": ["STOPPED"],
            "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}}, {"stopCode": ["TaskFailedToStart"]}],
        },
    }
    assert rule["Targets"] == [{"Id": "failure-topic", "Arn": {"Ref": "FailureTopic"}}]
    alarm = resources["FailedRunAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "TriggeredRules")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": "FailedRunRule"}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "FailureTopic"}]
    dropped = resources["ScheduleDroppedAlarm"]["Properties"]
    assert (dropped["Namespace"], dropped["MetricName"]) == ("AWS/Scheduler", "InvocationDroppedCount")
    assert dropped["Dimensions"] == [{"Name": "ScheduleGroup", "Value": {"Ref": "ScheduleGroup"}}]
    assert resources["Schedule"]["Properties"]["GroupName"] == {"Ref": "ScheduleGroup"}


def test_only_the_failure_rule_and_this_stacks_alarms_may_publish_to_the_topic(resources: dict[str, Any]) -> None:
    statement = resources["FailureTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in statement] == [
        (
            {"Service": "events.amazonaws.com"},
            "sns:Publish",
            {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["FailedRunRule", "Arn"]}}},
        ),
        (
            {"Service": "cloudwatch.amazonaws.com"},
            "sns:Publish",
            {"ArnLike": {"aws:SourceArn": {"Fn::Sub": f"{CLOUDWATCH}:alarm:${{Prefix}}-batch-*"}}},
        ),
    ]


def test_outputs_give_batch_remote_what_run_task_needs(template: dict[str, Any]) -> None:
    assert {
        "ClusterName",
        "TaskDefinitionArn",
        "SubnetIds",
        "SecurityGroupId",
        "AssignPublicIp",
        "LogGroupName",
        "InputUri",
        "OutputUri",
    } <= set(template["Outputs"])


def test_the_service_image_repository_is_immutable_scanned_and_bounded() -> None:
    infra = yaml.safe_load(INFRA.read_text(encoding="utf-8"))
    repository = infra["Resources"]["ServiceImageRepository"]["Properties"]
    assert repository["RepositoryName"] == {"Fn::Sub": "${Prefix}-service"}
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [(rule["selection"]["tagStatus"], rule["action"]["type"]) for rule in rules] == [
        ("untagged", "expire"),
        ("any", "expire"),
    ]
    assert infra["Outputs"]["ServiceImageRepositoryUri"] == {
        "Value": {"Fn::GetAtt": ["ServiceImageRepository", "RepositoryUri"]}
    }
