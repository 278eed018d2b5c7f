"""`make capacity` as a user types it: the make variables reach the plan, and bad input is one line."""

from __future__ import annotations

import shutil

import pytest

from infra.capacity import Measured, Prices, StreamMode, Workload, plan, report
from tests.shared.make import first_line, run_make

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
UNSET = ("RIDES_PER_SECOND", "RIDE_BYTES", "STREAM_MODE", "TRACING", "DEAD_LETTER_SHARE")


@pytest.mark.parametrize(
    ("variables", "workload"),
    [
        ({"RIDES_PER_SECOND": "1000"}, Workload(1000, Measured.load().ride_bytes, StreamMode.PROVISIONED)),
        (
            {"RIDES_PER_SECOND": "2500.5", "RIDE_BYTES": "3000", "STREAM_MODE": "on-demand", "TRACING": "PassThrough"},
            Workload(2500.5, 3000, StreamMode.ON_DEMAND, traced=False),
        ),
    ],
    ids=["defaults", "every variable"],
)
def test_capacity_prints_the_plan_for_the_variables_given(variables: dict[str, str], workload: Workload) -> None:
    result = run_make("capacity", variables=variables, unset=UNSET)
    assert result.returncode == 0, result.stderr
    prices, measured = Prices.load(), Measured.load()
    assert result.stdout.splitlines() == report(workload, plan(workload, prices, measured), prices, measured)
    assert "largest part: Kinesis" in result.stdout


REFUSALS = {
    "zero": ({"RIDES_PER_SECOND": "0"}, "RIDES_PER_SECOND must be a finite number above 0, not '0'"),
    "negative": ({"RIDES_PER_SECOND": "-5"}, "RIDES_PER_SECOND must be a finite number above 0, not '-5'"),
    "nan": ({"RIDES_PER_SECOND": "nan"}, "RIDES_PER_SECOND must be a finite number above 0, not 'nan'"),
    "record over 1 MiB": (
        {"RIDES_PER_SECOND": "10", "RIDE_BYTES": "2000000"},
        "RIDE_BYTES must be a whole number of bytes from 1 to 1,048,576 (a Kinesis record's limit), not '2000000'",
    ),
}


@pytest.mark.parametrize(("variables", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_capacity_refuses_bad_input_in_one_line(variables: dict[str, str], message: str) -> None:
    result = run_make("capacity", variables=variables, unset=UNSET)
    assert result.returncode == 2
    assert result.stdout == ""
    assert first_line(result) == f"error: {message}"
