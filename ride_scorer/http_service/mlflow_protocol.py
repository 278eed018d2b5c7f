"""MLflow's scoring protocol on the service: `POST /invocations` bodies to ride documents for the core.

What `mlflow models serve` takes for a pyfunc model (mlflow.pyfunc.scoring_server): a CSV body (`text/csv`,
a header row, then one ride per line), a parquet file (`application/vnd.apache.parquet`), or a JSON object with
exactly one of `dataframe_split` (`{"columns": [...], "data": [[...], ...]}`, what MLflow's own clients send
for a DataFrame), `dataframe_records` (a list of row objects), `instances` or `inputs` (a list of row objects,
or, for `inputs`, an object of equal-length columns). Rows hold the raw ride columns the pyfunc takes
(`PULocationID`, `DOLocationID`, `trip_distance`); other columns and `params` are ignored, as MLflow ignores
what a model does not take. Each row becomes the document a stream event carries, its ride_id the row's
position, and is read by the core's rules, so a row gets the same outcome (float or reason_code) as the same
ride on the stream, and the same float as the model's pyfunc. CSV and parquet are read with pyarrow (which
the HTTP image carries for the batch job; imported only when such a body comes), where MLflow uses pandas; a
parquet body's row count is checked against the answer's bound before any row is read.

A frame is all-or-nothing, as a `/predict` list and the pyfunc are: the answer is one prediction per row, in
order (`{"predictions": [...]}`), or a 400 naming the rejected rows by index.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ride_scorer.core.rides import ReadRide, Rejection, RejectionCode, RideEvent, read_document
from ride_scorer.http_service.answer_size import check_predictions_answer
from ride_scorer.http_service.request_body import MLFLOW_FORMATS, BadRequest, read_all

RIDE_COLUMNS = ("PULocationID", "DOLocationID", "trip_distance")
CSV, PARQUET = "text/csv", "application/vnd.apache.parquet"
# The table bodies, by content type, and the name an error calls them by.
TABLE_FORMATS = {CSV: "CSV", PARQUET: "parquet"}
FRAME_EXAMPLE = {"dataframe_split": {"columns": list(RIDE_COLUMNS), "data": [[130, 205, 3.66], [74, 75, 1.2]]}}
CSV_EXAMPLE = "PULocationID,DOLocationID,trip_distance\n130,205,3.66\n74,75,1.2\n"
NOUN = "rows"


def parse_invocations_body(raw: bytes, mimetype: str = "application/json") -> list[RideEvent]:
    """The rows as the core read them (all valid), or a BadRequest saying what is wrong with the body or
    which rows are rejected. `mimetype` is the request's content type without parameters: CSV and parquet
    are tables, anything else is read as JSON, as MLflow's server reads it."""
    rows = (
        _table_rows(raw, TABLE_FORMATS[mimetype]) if mimetype in TABLE_FORMATS else _rows(_frame_of(_json_object(raw)))
    )
    return read_all(rows, _read_row, NOUN)


def _table_rows(raw: bytes, kind: str) -> list[Any]:
    """The ride columns of a CSV or parquet body as row objects (a parquet body's other columns are not read)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    if not raw.strip():
        raise BadRequest(f"invalid_{kind.lower()}", "the body is empty", example=CSV_EXAMPLE)
    try:
        if kind == "CSV":
            table = pa_csv.read_csv(pa.BufferReader(raw), read_options=pa_csv.ReadOptions(use_threads=False))
            present = [name for name in RIDE_COLUMNS if name in table.column_names]
        else:
            parquet = pq.ParquetFile(pa.BufferReader(raw))
            check_predictions_answer(parquet.metadata.num_rows)  # a few bytes can promise millions of rows
            present = [name for name in RIDE_COLUMNS if name in parquet.schema_arrow.names]
            table = parquet.read(columns=present, use_threads=False)
    except (pa.ArrowException, UnicodeDecodeError) as error:
        raise BadRequest(f"invalid_{kind.lower()}", f"the body is not {kind}: {error}") from None
    missing = [name for name in RIDE_COLUMNS if name not in present]
    if missing:
        raise _shape_error(
            f"the {kind} body has no column {', '.join(missing)}: it needs {', '.join(RIDE_COLUMNS)}",
            example=CSV_EXAMPLE,
        )
    columns = [table.column(name).to_pylist() for name in RIDE_COLUMNS]
    return [dict(zip(RIDE_COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]


def _shape_error(message: str, example: object = FRAME_EXAMPLE) -> BadRequest:
    return BadRequest(str(RejectionCode.INVALID_SCHEMA), message, example=example)


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise BadRequest(str(RejectionCode.INVALID_JSON), "the body is empty", example=FRAME_EXAMPLE)
    try:
        raw.decode("utf-8")
        document = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise BadRequest(str(RejectionCode.INVALID_JSON), f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise _shape_error(f"the body must be a JSON object holding one of {', '.join(MLFLOW_FORMATS)}")
    return document


def _frame_of(document: dict[str, Any]) -> list[Any] | dict[str, Any]:
    formats = [key for key in MLFLOW_FORMATS if key in document]
    if len(formats) != 1:
        found = ", ".join(sorted(document)) or "no fields"
        raise _shape_error(f"the body must hold exactly one of {', '.join(MLFLOW_FORMATS)}; it holds {found}")
    (name,) = formats
    value = document[name]
    if name == "dataframe_split":
        return _split_rows(value)
    if isinstance(value, list) or (name == "inputs" and isinstance(value, dict)):
        return value
    columns = " or an object of columns" if name == "inputs" else ""
    raise _shape_error(f"{name} must be a list of row objects{columns}")


def _split_rows(split: Any) -> list[Any]:
    """`{"columns": [...], "data": [[...], ...]}` (pandas' orient="split"; an `index` is ignored)."""
    if not (isinstance(split, dict) and isinstance(split.get("columns"), list) and isinstance(split.get("data"), list)):
        raise _shape_error('dataframe_split must be an object with "columns" (names) and "data" (a list of rows)')
    columns = split["columns"]
    return [dict(zip(columns, row, strict=True)) if _fits(row, columns) else row for row in split["data"]]


def _fits(row: Any, columns: list[Any]) -> bool:
    return isinstance(row, list) and len(row) == len(columns)


def _rows(frame: list[Any] | dict[str, Any]) -> list[Any]:
    """Row objects; `inputs` given as columns is turned into rows, which must all be the same length."""
    if isinstance(frame, list):
        return frame
    columns = {name: values for name, values in frame.items() if name in RIDE_COLUMNS}
    if not columns:
        raise _shape_error(f"inputs holds none of the ride columns {', '.join(RIDE_COLUMNS)}")
    if not all(isinstance(values, list) for values in columns.values()):
        raise _shape_error("each column of inputs must be a list of values")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise _shape_error(f"the columns of inputs have different lengths: {sorted(lengths)}")
    (length,) = lengths
    return [{name: values[index] for name, values in columns.items()} for index in range(length)]


def _read_row(row: Any) -> ReadRide:
    if not isinstance(row, dict):
        return Rejection(
            RejectionCode.INVALID_SCHEMA,
            f"(row): Expected an object of {', '.join(RIDE_COLUMNS)} (or a list of one value per column)",
        )
    ride = {name: row[name] for name in RIDE_COLUMNS if name in row}
    return read_document({"ride": ride, "ride_id": 0})
