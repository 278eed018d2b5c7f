"""The capacity plan's arithmetic against figures computed by hand (infra/capacity.py's rules).

The prices and measured figures are fixed here, not read from the committed files, so each expected number
below can be checked with a pencil: a month is 730 h, so 1,000 rides/s is 2,628 million rides a month; at
1,024 MB a function has 1024/1769 of a vCPU, so 0.033 ms of CPU per ride is 0.057009 ms of billed time.
"""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from infra.capacity import Measured, Prices, StreamMode, Workload, plan

PRICES = Prices(
    checked=datetime.date(2026, 12, 6),
    region="us-east-1",
    hours_per_month=730,
    shard_hour=0.015,
    put_payload_units_per_million=0.014,
    put_payload_unit_bytes=25600,
    on_demand_stream_hour=0.04,
    on_demand_in_per_gb=0.08,
    on_demand_out_per_gb=0.04,
    on_demand_in_rounding_bytes=1024,
    on_demand_out_rounding_bytes=1024,
    lambda_requests_per_million=0.20,
    lambda_gb_second=0.0000166667,
    sqs_requests_per_million=0.40,
    logs_ingested_per_gb=0.50,
    custom_metric_month=0.30,
    traces_recorded_per_million=5.00,
    traced_per_second=1,
    traced_share_beyond=0.05,
)
MEASURED = Measured(
    cpu_seconds_per_ride=0.000033,
    peak_rss_mb=172,
    memory_mb=1024,
    memory_mb_per_vcpu=1769,
    log_bytes_per_invocation=1590,
    custom_metrics_per_version=8,
    ride_bytes=130,
    prediction_bytes=274,
    event_bytes_per_ride=740,
)
PROVISIONED, ON_DEMAND = StreamMode.PROVISIONED, StreamMode.ON_DEMAND

# (rate, ride bytes, mode, CPU s/ride) -> shards, BatchSize, ParallelizationFactor, rides per invocation,
# and some lines' cost per million rides, by their first words.
CASES = {
    # 1,000 records/s at 80% of 1,000 per shard: 1.25 -> 2 shards, 500 rides/s each, one PutRecords call.
    # Shard-hours 2 streams x 2 x $0.015 x 730 = $43.80 / 2,628 = $0.016667; PUT units 2 x $0.014;
    # 2,000 invocations x $0.20/1e6; 57.009 GB-s x $0.0000166667; 1,000 dead letters, one call each
    # (0.5 per invocation) x $0.40/1e6; logs 2,000 x 1,590 B / 2^30 x $0.50; X-Ray 1 + 5% x (2 - 1) =
    # 1.05 traces/s x 2,628,000 s x $5/1e6 = $13.797 / 2,628; metrics 8 x $0.30 / 2,628.
    "1k provisioned": (
        (1_000, 130, PROVISIONED, 0.000033),
        (2, 500, 1, 500),
        {
            "Kinesis shard-hours": 0.0166667,
            "Kinesis in": 0.028,
            "Kinesis out": 0.0,
            "Lambda requests": 0.0004,
            "Lambda duration": 0.00095015,
            "SQS": 0.0004,
            "CloudWatch logs": 0.0014808,
            "CloudWatch EMF": 0.00091324,
            "X-Ray": 0.00525,
        },
    ),
    # On demand: at least the 4 shards a new stream starts with, 250 rides a shard. Stream-hours 2 x $0.04 x
    # 730 = $58.40 / 2,628; in: 1 KB + 1 KB a ride, 2,048e6 B / 2^30 = 1.9073 GB x $0.08; out the same x $0.04.
    "1k on demand": (
        (1_000, 130, ON_DEMAND, 0.000033),
        (4, 500, 1, 250),
        {"Kinesis stream-hours": 0.0222222, "Kinesis in": 0.1525879, "Kinesis out": 0.0762939, "Lambda requests": 8e-4},
    ),
    # 100,000 records/s / 800 = 125 shards of 800 rides: BatchSize rounds up to two PutRecords calls.
    "100k provisioned": (
        (100_000, 130, PROVISIONED, 0.000033),
        (125, 1_000, 1, 800),
        {"Kinesis shard-hours": 0.0104167, "Lambda requests": 0.00025, "Lambda duration": 0.00095015},
    ),
    # 2,000-byte rides: 1.907 MiB/s / 80% = 2.38 -> 3 shards (records need 2); still one PUT unit a record,
    # but 2 KB + 1 KB on demand's rounding: 3,072e6 B / 2^30 = 2.861 GB x $0.08.
    "2 KB rides on demand": (
        (1_000, 2_000, ON_DEMAND, 0.000033),
        (4, 500, 1, 250),
        {"Kinesis in": 0.2288818},
    ),
    "2 KB rides provisioned": ((1_000, 2_000, PROVISIONED, 0.000033), (3, 500, 1, 333.333), {"Kinesis in": 0.028}),
    # 20,000-byte rides: 19.07 MiB/s / 80% -> 24 shards. An event carries 740 + 19,870 x 4/3 = 27,233 B a
    # ride, so 6 MiB holds 231 of them: BatchSize 231.
    "20 KB rides": ((1_000, 20_000, PROVISIONED, 0.000033), (24, 231, 1, 41.6667), {"Kinesis in": 0.028}),
    # 10 ms of CPU a ride: 17.275 s of billed time per second, 3 shards so that 10 batches a shard would
    # do; 333 rides/s a shard keep 5.76 invocations busy, 7.2 at 80% -> ParallelizationFactor 8, each
    # batch 41.7 rides. Duration: 1e6 x 0.017275 s x 1 GB x $0.0000166667.
    "slow handler": (
        (1_000, 130, PROVISIONED, 0.01),
        (3, 500, 8, 41.6667),
        {"Lambda duration": 0.287916, "Lambda requests": 0.0048},
    ),
}


@pytest.mark.parametrize(("workload", "deployment", "costs"), CASES.values(), ids=CASES.keys())
def test_plan_matches_the_hand_computed_figures(
    workload: tuple[float, int, StreamMode, float], deployment: tuple[int, int, int, float], costs: dict[str, float]
) -> None:
    rate, ride_bytes, mode, cpu = workload
    result = plan(Workload(rate, ride_bytes, mode), PRICES, dataclasses.replace(MEASURED, cpu_seconds_per_ride=cpu))
    shards, batch_size, factor, rides_per_invocation = deployment
    assert (result.shards, result.batch_size, result.parallelization_factor) == (shards, batch_size, factor)
    assert result.rides_per_invocation == pytest.approx(rides_per_invocation, rel=1e-5)
    assert result.max_concurrency == shards * factor
    lines = {f"{cost.service} {cost.item}": cost.per_million_rides for cost in result.costs}
    for start, expected in costs.items():
        (found,) = [value for name, value in lines.items() if name.startswith(start)]
        assert found == pytest.approx(expected, rel=1e-4, abs=1e-12), start
    millions = rate * 3600 * 730 / 1e6
    assert result.per_month == pytest.approx(result.per_million_rides * millions)
