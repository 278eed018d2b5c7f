"""MLflow's scoring protocol on the service (`POST /invocations`, `GET /ping`, `GET /version`), in-process:
every request shape `mlflow models serve` takes gets the floats the model's own pyfunc gives, and a bad row
is a 400 that names it with the core's reason code.

The same requests through MLflow's own client, against gunicorn, are in
integration-tests/http_service/test_http_service.py; on Lambda, in test_aws_lambda.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ride_scorer.core.model import load_model
from ride_scorer.core.settings import ModelSettings
from ride_scorer.http_service.app import create_app
from ride_scorer.http_service.mlflow_protocol import FRAME_EXAMPLE
from ride_scorer.http_service.request_body import LISTED_RIDES
from ride_scorer.http_service.settings import ServiceSettings
from tests.shared.paths import DATA
from tests.shared.trips import parquet_bytes
from training.ride_duration_pyfunc import RIDE_COLUMNS, RideDurationPyfunc

MODEL_NAME = "ride-duration-mlflow"


@pytest.fixture(scope="module")
def model(trained_model_dir: Path):
    return load_model(trained_model_dir)


@pytest.fixture(scope="module")
def client(model, trained_model_dir: Path):
    settings = ServiceSettings(ModelSettings(str(trained_model_dir), model_name=MODEL_NAME))
    return create_app(settings, model).test_client()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Real rides as MLflow users hold them, with a few ids written as (zero-padded) text."""
    rides = pq.read_table(DATA / "green_tripdata_2023-01.parquet", columns=list(RIDE_COLUMNS)).to_pandas().head(300)
    rides = rides.astype({"PULocationID": object})
    rides.loc[:2, "PULocationID"] = ["130", "0130", "0000000074"]
    return rides


# Every body shape mlflow.pyfunc.scoring_server parses into a DataFrame, from one frame.
SHAPES = {
    "dataframe_split": lambda frame: {"dataframe_split": frame.to_dict(orient="split")},
    "dataframe_records": lambda frame: {"dataframe_records": frame.to_dict(orient="records")},
    "instances": lambda frame: {"instances": frame.to_dict(orient="records")},
    "inputs-records": lambda frame: {"inputs": frame.to_dict(orient="records")},
    "inputs-columns": lambda frame: {"inputs": frame.to_dict(orient="list"), "params": {"ignored": 1}},
}


def invoke(client, body: Any):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/invocations", data=data, content_type="application/json")


@pytest.mark.parametrize("shape", SHAPES)
def test_every_mlflow_request_shape_gets_the_pyfuncs_floats(client, model, frame, shape):
    response = invoke(client, SHAPES[shape](frame))

    assert response.status_code == 200, response.get_data(as_text=True)
    expected = RideDurationPyfunc(model.regressor).predict(frame).tolist()
    assert response.get_json() == {"predictions": expected}  # equal floats, in row order


def csv_body(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_body(frame: pd.DataFrame) -> bytes:
    # A parquet column holds one type.
    return parquet_bytes(pa.Table.from_pandas(frame.astype({"PULocationID": str}), preserve_index=False))


# 300,000 rides in a few kilobytes: more than an answer can hold.
MANY_ROWS = parquet_bytes(pa.table({name: [1] * 300_000 for name in RIDE_COLUMNS}))
# The table bodies mlflow.pyfunc.scoring_server parses with pandas, by content type (parameters allowed).
TABLES = {"text/csv; charset=utf-8": csv_body, "application/vnd.apache.parquet": parquet_body}


@pytest.mark.parametrize("content_type", TABLES)
def test_csv_and_parquet_bodies_get_the_pyfuncs_floats(client, model, frame, content_type):
    extra = frame.assign(VendorID=2, note='a, quoted "text"')  # columns the model does not take are ignored
    response = client.post("/invocations", data=TABLES[content_type](extra), content_type=content_type)

    assert response.status_code == 200, response.get_data(as_text=True)
    expected = RideDurationPyfunc(model.regressor).predict(frame).tolist()
    assert response.get_json() == {"predictions": expected}


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code", "message"),
    [
        ("text/csv", b"", 400, "invalid_csv", "the body is empty"),
        ("text/csv", b"PULocationID,DOLocationID\n130,205\n", 400, "invalid_schema",
         "the CSV body has no column trip_distance: it needs PULocationID, DOLocationID, trip_distance"),
        ("text/csv", b"PULocationID,DOLocationID,trip_distance\n130,205\n", 400, "invalid_csv",
         "the body is not CSV: CSV parse error: Row #2: Expected 3 columns, got 2: 130,205"),
        ("application/vnd.apache.parquet", b"PAR1 not really", 400, "invalid_parquet", "the body is not parquet: "),
        ("application/vnd.apache.parquet", MANY_ROWS, 413, "answer_too_large",
         "the answer to these 300000 rides could take"),
    ],
    ids=["empty", "missing-column", "ragged-row", "not-parquet", "too-many-rows"],
)  # fmt: skip
def test_a_bad_table_body_is_refused_in_one_error(client, content_type, body, status, code, message):
    response = client.post("/invocations", data=body, content_type=content_type)
    error = response.get_json()["error"]
    assert (response.status_code, error["code"]) == (status, code)
    assert error["message"].startswith(message), error["message"]


def test_a_bad_row_of_a_csv_body_is_named_with_the_cores_reason(client):
    body = b"PULocationID,DOLocationID,trip_distance\n130,205,3.66\n130,205,-1\n"
    response = client.post("/invocations", data=body, content_type="text/csv")
    assert response.status_code == 400
    assert response.get_json()["error"]["rides"] == [
        {
            "index": 1,
            "code": "invalid_schema",
            "message": "ride.trip_distance: Expected a finite `float` >= 0, got -1.0",
        }
    ]


def test_ping_and_version_answer_as_mlflows_server_does_in_json(client, model):
    assert (client.get("/ping").status_code, client.get("/ping").get_json()) == (200, {"status": "ok"})
    assert client.get("/version").get_json() == {"model": MODEL_NAME, "version": model.version}


RIDE = {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}
RECORDS = "dataframe_records"
NOT_A_ROW = "(row): Expected an object of PULocationID, DOLocationID, trip_distance (or a list of one value per column)"
FORMATS = "dataframe_split, dataframe_records, instances, inputs"


@pytest.mark.parametrize(
    ("body", "rides"),
    [
        (
            {RECORDS: [RIDE, {**RIDE, "trip_distance": -1}, RIDE]},
            [(1, "invalid_schema", "ride.trip_distance: Expected a finite `float` >= 0, got -1.0")],
        ),
        (
            {RECORDS: [{**RIDE, "PULocationID": "13a"}, {"PULocationID": 1, "DOLocationID": 2}]},
            [
                (0, "invalid_schema", "ride.PULocationID: Expected `str` matching regex '^[0-9]{1,10}$'"),
                (1, "invalid_schema", "ride.trip_distance: Field required"),
            ],
        ),
        (
            {"dataframe_split": {"columns": list(RIDE), "data": [[1, 2, 3.0], [1, 2]]}},
            [(1, "invalid_schema", NOT_A_ROW)],
        ),
        (
            {"inputs": [RIDE, 7]},
            [(1, "invalid_schema", NOT_A_ROW)],
        ),
    ],
    ids=["negative-distance", "bad-id-and-missing-column", "short-split-row", "not-a-row"],
)
def test_a_bad_row_is_a_400_naming_the_row_and_nothing_is_scored(client, body, rides):
    response = invoke(client, body)

    assert response.status_code == 400
    rows = len(next(iter(body.values()))) if "dataframe_split" not in body else 2
    assert response.get_json() == {
        "error": {
            "code": rides[0][1],
            "message": f"{len(rides)} of {rows} rows are invalid; none was scored",
            "rides": [{"index": index, "code": code, "message": message} for index, code, message in rides],
        }
    }


def test_many_bad_rows_are_listed_up_to_the_cap(client):
    response = invoke(
        client, {"inputs": {"PULocationID": [-1] * 5000, "DOLocationID": [1] * 5000, "trip_distance": [1.0] * 5000}}
    )

    error = response.get_json()["error"]
    assert (response.status_code, len(error["rides"]), error["rows_not_checked"]) == (
        400,
        LISTED_RIDES,
        5000 - LISTED_RIDES,
    )


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"", "invalid_json", "the body is empty"),
        (
            {"ride": RIDE, "ride_id": 1},
            "invalid_schema",
            f"the body must hold exactly one of {FORMATS}; it holds ride, ride_id",
        ),
        (
            {RECORDS: [RIDE], "inputs": [RIDE]},
            "invalid_schema",
            f"the body must hold exactly one of {FORMATS}; it holds dataframe_records, inputs",
        ),
        (
            [RIDE],
            "invalid_schema",
            f"the body must be a JSON object holding one of {FORMATS}",
        ),
        (
            {"dataframe_split": [[1, 2, 3]]},
            "invalid_schema",
            'dataframe_split must be an object with "columns" (names) and "data" (a list of rows)',
        ),
        ({"instances": RIDE}, "invalid_schema", "instances must be a list of row objects"),
        (
            {"inputs": {"PULocationID": [1, 2], "DOLocationID": [1], "trip_distance": [1.0]}},
            "invalid_schema",
            "the columns of inputs have different lengths: [1, 2]",
        ),
        (
            {"inputs": {"x": [1]}},
            "invalid_schema",
            "inputs holds none of the ride columns PULocationID, DOLocationID, trip_distance",
        ),
    ],
    ids=[
        "empty",
        "a-predict-body",
        "two-formats",
        "a-list",
        "split-without-columns",
        "instances-object",
        "ragged-columns",
        "no-ride-columns",
    ],
)
def test_a_body_of_the_wrong_shape_is_a_400_with_an_example_of_the_right_one(client, body, code, message):
    response = invoke(client, body)

    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": code, "message": message, "example": FRAME_EXAMPLE}}
    assert invoke(client, FRAME_EXAMPLE).status_code == 200
