"""The CloudWatch embedded-metric documents a handler printed, as CloudWatch Logs would pick them out."""

from __future__ import annotations

import json


def emitted_metrics(output: str) -> list[dict]:
    """Each printed line that is an EMF document (a JSON object with `_aws`), in order."""
    return [
        document for line in output.splitlines() if line.startswith("{") and "_aws" in (document := json.loads(line))
    ]
