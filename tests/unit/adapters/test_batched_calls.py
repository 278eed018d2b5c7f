import json

from botocore.exceptions import EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from ride_scorer.adapters.chunking import chunk_spans
from ride_scorer.adapters.kinesis import MAX_BYTES_PER_CALL, KinesisPredictionSink, chunk_by_limits
from ride_scorer.adapters.retrying import RetryPolicy, send_with_retries
from ride_scorer.core.interfaces import OutputRecord
from tests.shared.fakes.aws import NO_WAIT, FakeKinesis


def records(count: int, size: int = 10) -> list[OutputRecord]:
    return [OutputRecord(json.dumps({"i": i}).encode().ljust(size), str(i)) for i in range(count)]


def test_chunks_respect_the_record_count_limit():
    spans = [(start, len(chunk)) for start, chunk in chunk_by_limits(records(1201))]
    assert spans == [(0, 500), (500, 500), (1000, 201)]


def test_chunks_respect_the_byte_limit():
    big = records(12, size=1024 * 1024 - 10)  # ~1 MiB each with the partition key
    sizes = [len(chunk) for _, chunk in chunk_by_limits(big)]
    assert sizes == [5, 5, 2]
    assert all(sum(r.size for r in chunk) <= MAX_BYTES_PER_CALL for _, chunk in chunk_by_limits(big))


def test_chunk_spans_keep_an_oversize_item_alone_and_in_order():
    assert chunk_spans([1, 100, 1, 1], max_count=10, max_bytes=50) == [(0, 1), (1, 2), (2, 4)]
    assert chunk_spans([], max_count=10, max_bytes=50) == []


def test_only_failed_entries_are_retried_with_backoff():
    delays: list[float] = []
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=1.0, sleep=delays.append)
    sends: list[list[str]] = []

    def send(batch):
        sends.append(list(batch))
        return [(i, "Throttled") for i, entry in enumerate(batch) if entry in {"b", "d"} and len(sends) < 3]

    outcome = send_with_retries(["a", "b", "c", "d"], send, policy)
    assert sends == [["a", "b", "c", "d"], ["b", "d"], ["b", "d"]]
    assert outcome.failed == [] and outcome.retried == 4
    assert len(delays) == 2 and 0 <= delays[0] <= 0.2 and 0 <= delays[1] <= 0.4


def test_partial_failures_are_retried_until_written_in_full():
    kinesis = FakeKinesis(fail=lambda call, data: call < 2 and data.startswith(b'{"i": 1'))
    result = KinesisPredictionSink(kinesis, "out", NO_WAIT).write(records(30))
    assert result.first_unwritten is None
    assert sorted(data for data, _ in kinesis.written) == sorted(r.data for r in records(30))
    assert kinesis.calls == [30, 11, 11]  # 1 and 10-19 failed twice, only they were re-sent
    assert result.retried == 22


def test_persistent_failure_reports_the_earliest_unwritten_and_stops_later_chunks():
    kinesis = FakeKinesis(fail=lambda call, data: data.startswith((b'{"i": 520}', b'{"i": 700}')))
    result = KinesisPredictionSink(kinesis, "out", NO_WAIT).write(records(1200))
    assert result.first_unwritten == 520
    assert "ProvisionedThroughputExceededException" in (result.error or "")
    # first chunk, second chunk, three retries of records 520 and 700 alone; the third chunk is never sent
    assert kinesis.calls == [500, 500, 2, 2, 2]


def test_whole_call_failure_marks_the_chunk_unwritten():
    kinesis = FakeKinesis(
        raise_on_call=lambda call: EndpointConnectionError(endpoint_url="http://x") if call >= 1 else None
    )
    result = KinesisPredictionSink(kinesis, "out", NO_WAIT).write(records(700))
    assert result.first_unwritten == 500
    assert len(kinesis.written) == 500


def greedy_spans(sizes: list[int], max_count: int, max_bytes: int) -> list[tuple[int, int]]:
    """The rule, one item at a time: a span takes items until the next would break a limit."""
    spans, start, total = [], 0, 0
    for position, size in enumerate(sizes):
        if position > start and (position - start == max_count or total + size > max_bytes):
            spans.append((start, position))
            start, total = position, 0
        total += size
    return [*spans, (start, len(sizes))] if start < len(sizes) else spans


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=120), max_size=60),
    max_count=st.integers(min_value=1, max_value=8),
    max_bytes=st.integers(min_value=1, max_value=300),
)
def test_whole_blocks_are_the_same_spans_as_item_by_item(sizes, max_count, max_bytes):
    assert chunk_spans(sizes, max_count, max_bytes) == greedy_spans(sizes, max_count, max_bytes)
