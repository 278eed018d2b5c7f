"""Capacity and cost of the stream scorer at a ride rate: `make capacity RIDES_PER_SECOND=N`.

From the figures measured on this project (capacity_measured.toml: CPU per ride, memory, record and log
sizes, each naming its bench run) and public prices (capacity_prices.toml, dated, with their sources), it
prints what to deploy (shards; the event source's BatchSize, MaximumBatchingWindowInSeconds and
ParallelizationFactor; Lambda memory and concurrency) and what a million rides and a month cost, line by
line: Kinesis (both streams, in and out), Lambda (requests and GB-seconds), SQS (dead letters), CloudWatch
(logs and EMF metrics) and X-Ray. The arithmetic is `plan`; everything else reads files or prints.

Planning rules (the issue is silent on them; docs/capacity.md explains each):
- Kinesis shard limits: 1 MiB/s and 1,000 records/s of writes, 2 MiB/s of reads, in both modes. A stream is
  sized to run at 80% of them (partition keys hash unevenly and rides come in bursts). The infra stack gives
  both streams one ShardCount, so the larger need sets it. On demand, Kinesis picks the shard count; a new
  on-demand stream starts with 4.
- A ride waits at most the batching window (1 s) for its batch; BatchSize is what one shard brings in that
  window, rounded up to whole PutRecords calls (500), within Lambda's 6 MB event and the 10,000 maximum.
- ParallelizationFactor is what keeps each shard's invocations under 80% busy at the measured CPU time per
  ride, scaled to the vCPU share the memory buys; more shards are planned when 10 would not do.
- Lambda bills the handler's wall time; the waits on Kinesis and SQS are not measurable without AWS and are
  left out (docs/capacity.md gives their order of magnitude).
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NoReturn

PRICES = Path(__file__).with_name("capacity_prices.toml")
MEASURED = Path(__file__).with_name("capacity_measured.toml")

MIB = 1024 * 1024
GIB = 1024 * MIB
SHARD_WRITE_RECORDS = 1000
SHARD_WRITE_BYTES = 1 * MIB
SHARD_READ_BYTES = 2 * MIB
TARGET_UTILIZATION = 0.8
ON_DEMAND_START_SHARDS = 4
STREAMS = 2  # rides and predictions (infra/templates/resources.yaml)
BATCHING_WINDOW_SECONDS = 1
PUT_RECORDS_MAX = 500
BATCH_SIZE_MAX = 10_000
PARALLELIZATION_FACTOR_MAX = 10
LAMBDA_EVENT_MAX_BYTES = 6 * MIB
KINESIS_RECORD_MAX_BYTES = 1 * MIB  # data before base64, plus the partition key
# Lambda's default concurrency quota per account and region: a plan above it needs a quota increase.
ACCOUNT_CONCURRENCY = 1000
SECONDS_PER_HOUR = 3600


class StreamMode(Enum):
    """The infra stack's StreamMode values."""

    PROVISIONED = "PROVISIONED"
    ON_DEMAND = "ON_DEMAND"


@dataclass(frozen=True)
class Prices:
    """capacity_prices.toml, flattened."""

    checked: datetime.date
    region: str
    hours_per_month: float
    shard_hour: float
    put_payload_units_per_million: float
    put_payload_unit_bytes: int
    on_demand_stream_hour: float
    on_demand_in_per_gb: float
    on_demand_out_per_gb: float
    on_demand_in_rounding_bytes: int
    on_demand_out_rounding_bytes: int
    lambda_requests_per_million: float
    lambda_gb_second: float
    sqs_requests_per_million: float
    logs_ingested_per_gb: float
    custom_metric_month: float
    traces_recorded_per_million: float
    traced_per_second: float
    traced_share_beyond: float

    @classmethod
    def load(cls, path: Path = PRICES) -> Prices:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        kinesis, function, cloudwatch, xray = (document[key] for key in ("kinesis", "lambda", "cloudwatch", "xray"))
        return cls(
            checked=document["checked"],
            region=document["region"],
            hours_per_month=document["hours_per_month"],
            **kinesis,
            lambda_requests_per_million=function["requests_per_million"],
            lambda_gb_second=function["gb_second"],
            sqs_requests_per_million=document["sqs"]["requests_per_million"],
            **cloudwatch,
            **xray,
        )


@dataclass(frozen=True)
class Measured:
    """capacity_measured.toml, flattened: what the scorer itself costs per ride and per invocation."""

    cpu_seconds_per_ride: float
    peak_rss_mb: int
    memory_mb: int
    memory_mb_per_vcpu: int
    log_bytes_per_invocation: int
    custom_metrics_per_version: int
    ride_bytes: int
    prediction_bytes: int
    event_bytes_per_ride: int

    @property
    def vcpu(self) -> float:
        """The share of one vCPU Lambda gives the function at its memory size."""
        return min(1.0, self.memory_mb / self.memory_mb_per_vcpu)

    @classmethod
    def load(cls, path: Path = MEASURED) -> Measured:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(**document["lambda"], **document["records"])


@dataclass(frozen=True)
class Workload:
    """What the operator asks about. ride_bytes counts a record's data and partition key."""

    rides_per_second: float
    ride_bytes: int
    stream_mode: StreamMode
    traced: bool = True
    dead_letter_share: float = 0.001
    prediction_readers: int = 1


@dataclass(frozen=True)
class Cost:
    service: str
    item: str
    per_million_rides: float
    per_month: float


@dataclass(frozen=True)
class Plan:
    """What to deploy for a workload, and what it costs."""

    shards: int
    batch_size: int
    batching_window_seconds: int
    parallelization_factor: int
    memory_mb: int
    rides_per_invocation: float
    invocations_per_second: float
    max_concurrency: int
    busy_concurrency: float
    costs: tuple[Cost, ...]

    @property
    def per_million_rides(self) -> float:
        return sum(cost.per_million_rides for cost in self.costs)

    @property
    def per_month(self) -> float:
        return sum(cost.per_month for cost in self.costs)

    def by_service(self) -> dict[str, float]:
        """Monthly cost per service, largest first."""
        totals: dict[str, float] = {}
        for cost in self.costs:
            totals[cost.service] = totals.get(cost.service, 0.0) + cost.per_month
        return dict(sorted(totals.items(), key=lambda item: -item[1]))


def shards_for(rides_per_second: float, record_bytes: int, readers: int) -> int:
    """Shards one stream needs at TARGET_UTILIZATION of the write (records and bytes) and read limits."""
    needs = (
        rides_per_second / SHARD_WRITE_RECORDS,
        rides_per_second * record_bytes / SHARD_WRITE_BYTES,
        rides_per_second * record_bytes * readers / SHARD_READ_BYTES,
    )
    return max(1, math.ceil(max(needs) / TARGET_UTILIZATION))


def event_rides_limit(measured: Measured, ride_bytes: int) -> int:
    """Rides in one Lambda event before its 6 MB limit: the measured event bytes per ride, plus base64's 4/3
    of whatever the ride is larger than the measured one."""
    per_ride = measured.event_bytes_per_ride + max(0.0, (ride_bytes - measured.ride_bytes) * 4 / 3)
    return max(1, int(LAMBDA_EVENT_MAX_BYTES // per_ride))


def plan(workload: Workload, prices: Prices, measured: Measured) -> Plan:
    """The deployment and its cost for one workload (the rules are in this module's docstring)."""
    rate = workload.rides_per_second
    wall_per_ride = measured.cpu_seconds_per_ride / measured.vcpu
    busy = rate * wall_per_ride
    shards = max(
        shards_for(rate, workload.ride_bytes, readers=1),
        shards_for(rate, measured.prediction_bytes, readers=workload.prediction_readers),
        math.ceil(busy / (PARALLELIZATION_FACTOR_MAX * TARGET_UTILIZATION)),
    )
    if workload.stream_mode is StreamMode.ON_DEMAND:
        shards = max(shards, ON_DEMAND_START_SHARDS)
    per_shard = rate / shards
    factor = max(1, math.ceil(per_shard * wall_per_ride / TARGET_UTILIZATION))
    arriving = per_shard * BATCHING_WINDOW_SECONDS / factor
    whole_calls = max(PUT_RECORDS_MAX, math.ceil(arriving / PUT_RECORDS_MAX) * PUT_RECORDS_MAX)
    batch_size = min(whole_calls, BATCH_SIZE_MAX, event_rides_limit(measured, workload.ride_bytes))
    rides_per_invocation = min(float(batch_size), max(1.0, arriving))
    invocations_per_second = rate / rides_per_invocation
    return Plan(
        shards=shards,
        batch_size=batch_size,
        batching_window_seconds=BATCHING_WINDOW_SECONDS,
        parallelization_factor=factor,
        memory_mb=measured.memory_mb,
        rides_per_invocation=rides_per_invocation,
        invocations_per_second=invocations_per_second,
        max_concurrency=shards * factor,
        busy_concurrency=busy,
        costs=tuple(_costs(workload, prices, measured, shards, rides_per_invocation, wall_per_ride)),
    )


def _costs(
    workload: Workload, prices: Prices, measured: Measured, shards: int, rides_per_invocation: float, wall: float
) -> list[Cost]:
    hours = prices.hours_per_month
    rides = workload.rides_per_second * SECONDS_PER_HOUR * hours  # a month's
    invocations = rides / rides_per_invocation
    ride, prediction = workload.ride_bytes, measured.prediction_bytes
    monthly: list[tuple[str, str, float]] = []
    if workload.stream_mode is StreamMode.PROVISIONED:
        unit = prices.put_payload_unit_bytes
        units = _chunks(ride, unit) + _chunks(prediction, unit)
        monthly += [
            ("Kinesis", f"shard-hours ({STREAMS} x {shards} shards)", STREAMS * shards * prices.shard_hour * hours),
            ("Kinesis", "in: PUT payload units (25 KB)", rides * units * prices.put_payload_units_per_million / 1e6),
            ("Kinesis", "out: included in shard-hours", 0.0),
        ]
    else:
        written_unit, read_unit = prices.on_demand_in_rounding_bytes, prices.on_demand_out_rounding_bytes
        written = _rounded(ride, written_unit) + _rounded(prediction, written_unit)
        read = _rounded(ride, read_unit) + workload.prediction_readers * _rounded(prediction, read_unit)
        monthly += [
            ("Kinesis", f"stream-hours ({STREAMS} on-demand streams)", STREAMS * prices.on_demand_stream_hour * hours),
            ("Kinesis", "in: data ingested (1 KB a record)", rides * written / GIB * prices.on_demand_in_per_gb),
            ("Kinesis", "out: data retrieved", rides * read / GIB * prices.on_demand_out_per_gb),
        ]
    gb_seconds = rides * wall * measured.memory_mb / 1024
    letters_per_call = min(10.0, max(1.0, rides_per_invocation * workload.dead_letter_share))
    sqs_calls = rides * workload.dead_letter_share / letters_per_call
    log_gb = invocations * measured.log_bytes_per_invocation / GIB
    monthly += [
        ("Lambda", "requests", invocations * prices.lambda_requests_per_million / 1e6),
        ("Lambda", "duration (GB-seconds)", gb_seconds * prices.lambda_gb_second),
        ("SQS", "dead letters (SendMessageBatch)", sqs_calls * prices.sqs_requests_per_million / 1e6),
        ("CloudWatch", "logs ingested", log_gb * prices.logs_ingested_per_gb),
        ("CloudWatch", "EMF custom metrics", measured.custom_metrics_per_version * prices.custom_metric_month),
    ]
    if workload.traced:
        per_second = invocations / (hours * SECONDS_PER_HOUR)
        traced = min(per_second, prices.traced_per_second)
        traced += prices.traced_share_beyond * max(0.0, per_second - prices.traced_per_second)
        traces = traced * SECONDS_PER_HOUR * hours
        monthly.append(("X-Ray", "traces recorded", traces * prices.traces_recorded_per_million / 1e6))
    millions = rides / 1e6
    return [Cost(service, item, cost / millions, cost) for service, item, cost in monthly]


def _chunks(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _rounded(size: int, unit: int) -> int:
    return _chunks(size, unit) * unit


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


def money(value: float) -> str:
    """Dollars with the digits that matter: $12,345 / $12.35 / $0.0012 / $0."""
    if value == 0:
        return "$0"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.{1 - math.floor(math.log10(value))}f}"


def report(workload: Workload, result: Plan, prices: Prices, measured: Measured) -> list[str]:
    """The lines `make capacity` prints."""
    mode = "provisioned" if workload.stream_mode is StreamMode.PROVISIONED else "on-demand"
    shards = f"{result.shards:,}" if mode == "provisioned" else f"about {result.shards:,} (Kinesis decides)"
    lines = [
        f"{_number(workload.rides_per_second)} rides/s, {workload.ride_bytes}-byte rides, {mode} streams "
        f"(prices of {prices.checked}, {prices.region})",
        f"  shards per stream               {shards}",
        f"  BatchSize                       {result.batch_size:,}",
        f"  MaximumBatchingWindowInSeconds  {result.batching_window_seconds}",
        f"  ParallelizationFactor           {result.parallelization_factor}",
        f"  MemorySize                      {result.memory_mb:,} MB ({measured.vcpu:.2f} vCPU; "
        f"peak RSS {measured.peak_rss_mb} MB)",
        f"  Lambda concurrency              up to {result.max_concurrency:,} (shards x ParallelizationFactor), "
        f"{result.busy_concurrency:,.2f} busy on average",
        f"  invocations                     {result.invocations_per_second:,.1f}/s, "
        f"{result.rides_per_invocation:,.0f} rides each",
        "",
        f"  {'cost':<52} {'per million rides':>18} {'per month':>12}",
    ]
    lines += [
        f"  {cost.service + ' ' + cost.item:<52} {money(cost.per_million_rides):>18} {money(cost.per_month):>12}"
        for cost in result.costs
    ]
    lines.append(f"  {'total':<52} {money(result.per_million_rides):>18} {money(result.per_month):>12}")
    services = result.by_service()
    largest, amount = next(iter(services.items()))
    lines.append(f"largest part: {largest}, {amount / result.per_month:.0%} of the month")
    if result.max_concurrency > ACCOUNT_CONCURRENCY:
        lines.append(
            f"note: up to {result.max_concurrency:,} concurrent invocations is above Lambda's default quota of "
            f"{ACCOUNT_CONCURRENCY:,} per account and region: ask for an increase before deploying"
        )
    infra = f"STREAM_MODE={workload.stream_mode.value}"
    if workload.stream_mode is StreamMode.PROVISIONED:
        infra += f" SHARD_COUNT={result.shards}"
    lines.append(
        f"deploy: make deploy-infra {infra}; make deploy ... STREAM_BATCH_SIZE={result.batch_size} "
        f"STREAM_BATCHING_WINDOW={result.batching_window_seconds} "
        f"PARALLELIZATION_FACTOR={result.parallelization_factor} SCORER_MEMORY_SIZE={result.memory_mb}"
    )
    return lines


class _Parser(argparse.ArgumentParser):
    """One `error:` line and exit status 2, naming the make variable a user typed."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument ") and ": " in message:
            message = message.split(": ", 1)[1]  # argparse's "argument --flag: " repeats what the line says
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _rate(text: str) -> float:
    if not text.strip():
        raise argparse.ArgumentTypeError("RIDES_PER_SECOND is not set: make capacity RIDES_PER_SECOND=<rides a second>")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"RIDES_PER_SECOND must be a finite number above 0, not {text!r}")
    return value


def _ride_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= KINESIS_RECORD_MAX_BYTES:
        raise argparse.ArgumentTypeError(
            f"RIDE_BYTES must be a whole number of bytes from 1 to {KINESIS_RECORD_MAX_BYTES:,} (a Kinesis record's "
            f"limit), not {text!r}"
        )
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"DEAD_LETTER_SHARE must be a fraction from 0 to 1, not {text!r}")
    return value


def _stream_mode(text: str) -> StreamMode:
    try:
        return StreamMode(text.upper().replace("-", "_"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"STREAM_MODE must be PROVISIONED or ON_DEMAND, not {text!r}") from None


def _tracing(text: str) -> bool:
    if text not in ("Active", "PassThrough"):
        raise argparse.ArgumentTypeError(f"TRACING must be Active or PassThrough, not {text!r}")
    return text == "Active"


def main(argv: Sequence[str] | None = None) -> None:
    parser = _Parser(prog="make capacity", description=__doc__.splitlines()[0] if __doc__ else None)
    try:
        measured, prices = Measured.load(), Prices.load()
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as error:
        parser.error(f"{MEASURED} or {PRICES} is unreadable or lacks a figure: {error!r}")
    parser.add_argument("--rides-per-second", type=_rate, required=True)
    parser.add_argument("--ride-bytes", type=_ride_bytes, default=measured.ride_bytes)
    parser.add_argument("--stream-mode", type=_stream_mode, default=StreamMode.PROVISIONED)
    parser.add_argument("--tracing", type=_tracing, default=True)
    parser.add_argument("--dead-letter-share", type=_share, default=Workload.dead_letter_share)
    args = parser.parse_args(argv)
    workload = Workload(args.rides_per_second, args.ride_bytes, args.stream_mode, args.tracing, args.dead_letter_share)
    print("\n".join(report(workload, plan(workload, prices, measured), prices, measured)))


if __name__ == "__main__":
    main()
