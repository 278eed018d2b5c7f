"""Publish real TLC rides to a Kinesis stream as ride events, with PutRecords, at a chosen rate.

    python -m tools.producer --stream ride-scorer-rides \
        --input data/green_tripdata_2023-01.parquet --rate 1000 --limit 5000 --poison 2

`--poison N` adds N bad records of every kind (6 kinds: 12 records for N=2), so each way a record can be
bad reaches the scorer whatever N is.

Calls stay within PutRecords' limits (500 records, 5 MB); entries the service rejects (throttling) are
retried with backoff, and the run fails loudly if some still are not written.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ride_scorer.adapters.chunking import chunk_spans
from ride_scorer.adapters.kinesis import MAX_BYTES_PER_CALL, MAX_RECORDS_PER_CALL
from ride_scorer.adapters.retrying import RetryPolicy, send_with_retries
from tools.cli import ToolParser, fail, non_negative_int
from tools.local.endpoints import AwsUnavailable, explain, tool_client
from tools.local.ride_source import (
    OutgoingRecord,
    check_rides_file,
    mixed_records,
    poison_records,
    read_rides,
)


class PublishError(RuntimeError):
    """Some records could not be written after every retry."""


@dataclass(frozen=True)
class PublishReport:
    records: int
    calls: int
    retried: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def publish(
    kinesis: Any,
    stream_name: str,
    records: Sequence[OutgoingRecord],
    rate: float | None = None,
    progress: bool = False,
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    """Send every record; `rate` caps records per second over the whole run (None: as fast as possible)."""
    from tqdm import tqdm

    policy = policy or RetryPolicy(max_attempts=8, max_delay=2.0)
    sizes = [len(record.data) + len(record.partition_key.encode("utf-8")) for record in records]
    started = clock()
    calls = retried = sent = 0

    def put(chunk: Sequence[OutgoingRecord]) -> list[tuple[int, str]]:
        nonlocal calls
        calls += 1
        try:
            response = kinesis.put_records(
                StreamName=stream_name,
                Records=[{"Data": record.data, "PartitionKey": record.partition_key} for record in chunk],
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"ProvisionedThroughputExceededException", "ThrottlingException"}:
                return [(position, code) for position in range(len(chunk))]
            raise explain(error, kinesis, f"Kinesis stream {stream_name!r}") from None
        except BotoCoreError as error:
            raise explain(error, kinesis, f"Kinesis stream {stream_name!r}") from None
        return [
            (position, f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}")
            for position, entry in enumerate(response["Records"])
            if entry.get("ErrorCode")
        ]

    with tqdm(total=len(records), unit="rec", disable=not progress, desc=f"-> {stream_name}") as bar:
        for start, end in chunk_spans(sizes, MAX_RECORDS_PER_CALL, MAX_BYTES_PER_CALL):
            if rate:
                ahead = sent / rate - (clock() - started)
                if ahead > 0:
                    sleep(ahead)
            outcome = send_with_retries(records[start:end], put, policy)
            retried += outcome.retried
            if outcome.failed:
                raise PublishError(
                    f"{len(outcome.failed)} of {end - start} records not written to {stream_name} after "
                    f"{policy.max_attempts} attempts: {outcome.last_error}"
                )
            sent += end - start
            bar.update(end - start)
    return PublishReport(sent, calls, retried, clock() - started)


def poison_kinds() -> list[str]:
    """The kinds of bad record poison_records makes, in the order it cycles through them."""
    kinds: list[str] = []
    for poison in poison_records(64):  # far more than there are kinds: the cycle shows up within it
        if poison.kind in kinds:
            break
        kinds.append(poison.kind)
    return kinds


def rate(text: str) -> float:
    value = float(text)  # argparse turns the ValueError into "invalid rate value"
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of records per second")
    return value


def rides_file(text: str) -> Path:
    """A readable parquet file with the ride columns: checked on its footer, before anything is sent."""
    try:
        return check_rides_file(Path(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(prog="python -m tools.producer", description="Publish real TLC rides to a Kinesis stream.")
    kinds = poison_kinds()
    parser.add_argument("--stream", required=True)
    parser.add_argument("--input", type=rides_file, default="data/green_tripdata_2023-01.parquet")
    parser.add_argument("--rate", type=rate, help="records per second (default: as fast as possible)")
    parser.add_argument("--limit", type=non_negative_int, help="publish at most this many rides")
    parser.add_argument(
        "--poison",
        type=non_negative_int,
        default=0,
        metavar="N",
        help=f"also publish N bad records of every kind ({len(kinds)} kinds: {', '.join(kinds)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="where the poison records go among the rides")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    poisons = poison_records(args.poison * len(kinds))  # it cycles through the kinds: N of each
    records = mixed_records(read_rides(args.input, args.limit), poisons, args.seed)
    try:
        report = publish(tool_client("kinesis"), args.stream, records, args.rate, progress=not args.no_progress)
    except (AwsUnavailable, PublishError) as error:
        return fail(error)
    print(
        f"published {report.records} records ({len(poisons)} poison: {args.poison} of each of "
        f"{len(kinds)} kinds) in {report.calls} PutRecords calls, "
        f"{report.retried} entries retried, {report.seconds:.1f} s ({report.rate:.0f} rec/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
