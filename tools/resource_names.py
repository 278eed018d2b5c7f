"""The names infra/templates/resources.yaml gives a stack's streams and queues, from its `Prefix` parameter.

Operator tools take `--prefix` instead of four names; this is the one place that knows the naming, and a
test holds it to the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.local.endpoints import explain


@dataclass(frozen=True)
class ResourceNames:
    rides_stream: str
    predictions_stream: str
    dead_letter_queue: str
    on_failure_queue: str

    @classmethod
    def from_prefix(cls, prefix: str) -> ResourceNames:
        return cls(f"{prefix}-rides", f"{prefix}-predictions", f"{prefix}-dead-letters", f"{prefix}-on-failure")


def queue_url(sqs: Any, name: str) -> str:
    """The URL of an existing queue; a missing queue or an endpoint that cannot be reached raises
    `AwsUnavailable`, one line naming the queue."""
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except (ClientError, BotoCoreError) as error:
        raise explain(error, sqs, f"queue {name!r}") from None
