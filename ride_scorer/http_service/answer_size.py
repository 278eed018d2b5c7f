"""The one limit on what an HTTP answer may hold, taken from the transport that carries it.

Lambda returns at most 6 MB (6,291,456 bytes) from a synchronous invocation, and the answer travels inside
that payload as a JSON string: the proxy response `{"statusCode": ..., "headers": {...}, "body": "..."}`.
The app's JSON is ASCII (Flask escapes every other character), so inside the payload each `"` and `\\` of
the answer takes two bytes and every other byte one: that is an answer's `carried_size`. gunicorn has no
such limit; the service holds it to the same one (the documented cap), so an answer is the same wherever
the service runs, and a worker never builds an answer larger than this.

A request is checked before it is scored, against the largest answer it could get: every duration as long
as a float can be written. One that could exceed the limit is a 413 that costs no scoring, with the number
of requests to split it into. infra/templates/web.yaml's largest `MaxRequestBytes` is `LARGEST_SAFE_REQUEST_BYTES`, the
largest body for which no valid request can get that 413 (tests/unit/infra/test_web_template.py holds it there).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
# The status line, headers and the proxy response's own keys around the body.
ENVELOPE_BYTES = 16 * 1024
MAX_ANSWER_BYTES = LAMBDA_RESPONSE_BYTES - ENVELOPE_BYTES
# No finite float is written longer than this (sign, 17 digits, point, exponent): the worst-case duration.
LONGEST_FLOAT = "-2.2250738585072014e-308"
# The fewest request bytes a scored ride can take: a row of `/invocations`' columnar `inputs`, "0," in each of
# its three columns. It gets the longest float and a comma in the answer: 25 bytes for 6, the largest
# expansion of any valid request (a /predict ride with a 128-character id of 4-byte characters, escaped
# twice, expands 3.4 times; tests/unit/infra/test_web_template.py checks both). A CSV row ("0,0,0" and its line
# end) takes as many. A parquet body is compressed and can promise any number of rows: its row count is checked
# before it is read, so it alone can get this 413 within MaxRequestBytes.
FEWEST_BYTES_PER_RIDE = 6
LARGEST_SAFE_REQUEST_BYTES = MAX_ANSWER_BYTES // (len(LONGEST_FLOAT) + 1) * FEWEST_BYTES_PER_RIDE


class AnswerTooLarge(Exception):
    """Rendered as a 413 by the app: the request could get an answer its transport cannot return."""

    def __init__(self, rides: int, worst_case: int) -> None:
        requests = math.ceil(worst_case / MAX_ANSWER_BYTES)
        super().__init__(
            f"the answer to these {rides} rides could take {worst_case} bytes, more than the {MAX_ANSWER_BYTES} "
            f"an answer may hold; send them in {requests} requests or more"
        )


def carried_size(text: str) -> int:
    """Bytes `text` (ASCII JSON) takes inside Lambda's JSON response payload."""
    return len(text) + text.count('"') + text.count("\\")


def _ride_id_size(ride_id: int | str) -> int:
    if type(ride_id) is int:
        return len(str(ride_id))
    text = str(ride_id)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 4  # its two quotes, each escaped
    return carried_size(json.dumps(text))


def check_records_answer(record_size: int, ride_ids: Iterable[int | str], is_list: bool) -> None:
    """`/predict`: `record_size` is the carried size of one prediction record with the longest duration
    and the ride id 0; each ride's record is that plus its own id's size, less the 0's."""
    count, total = 0, 2 if is_list else 0  # the list's brackets
    for ride_id in ride_ids:
        count += 1
        total += record_size - 1 + _ride_id_size(ride_id) + 1  # and its comma
    if total > MAX_ANSWER_BYTES:
        raise AnswerTooLarge(count, total)


def check_predictions_answer(rows: int) -> None:
    """`/invocations`: `{"predictions":[...]}`, each duration at most as long as the longest float."""
    total = carried_size('{"predictions":[]}') + rows * (len(LONGEST_FLOAT) + 1)
    if total > MAX_ANSWER_BYTES:
        raise AnswerTooLarge(rows, total)
