"""On-demand predictions over HTTP: a Flask app on the streaming core, served by gunicorn.

    python -m ride_scorer.http_service.gunicorn_conf 'ride_scorer.http_service.app:create_app()'

`POST /predict` takes what a stream event carries (one `{"ride": ..., "ride_id": ...}` or a list) and
answers with what the output stream carries (`prediction_record`s). `GET /health` names the model.
MLflow's scoring protocol sits beside it (mlflow_protocol): `POST /invocations` answers
`{"predictions": [...]}`, `GET /ping` and `GET /version` answer as `mlflow models serve` does, in JSON.
The model is loaded once, when the app is created; a bad model stops the service at start, not on the
first request. Every error is JSON: bad input is a 400 saying what is wrong, an oversized body or a request
whose answer could outgrow its transport (answer_size) a 413, a body that stops arriving a 408. `OPTIONS`
is a 204 with the route's `Allow` header.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import (
    ClientDisconnected,
    HTTPException,
    RequestEntityTooLarge,
    RequestTimeout,
)

from ride_scorer.adapters.model_store import STARTUP_ERRORS, load_model_from
from ride_scorer.core.model import RideDurationModel
from ride_scorer.core.prediction_records import prediction_record
from ride_scorer.core.rides import Rejection
from ride_scorer.core.scoring import Outcome, Prediction, score_rides
from ride_scorer.http_service.answer_size import (
    LONGEST_FLOAT,
    AnswerTooLarge,
    carried_size,
    check_predictions_answer,
    check_records_answer,
)
from ride_scorer.http_service.mlflow_protocol import parse_invocations_body
from ride_scorer.http_service.request_body import BadRequest, parse_predict_body, rejected_rides
from ride_scorer.http_service.settings import ServiceSettings

logger = logging.getLogger(__name__)


def create_app(settings: ServiceSettings | None = None, model: RideDurationModel | None = None) -> Flask:
    """Settings default to the environment (MODEL_LOCATION, MODEL_SHA256, MODEL_NAME, MAX_REQUEST_BYTES).

    Called without settings, this is the process's entry (gunicorn's app factory, in the master before it
    forks). A setting or model the service cannot start with then ends the process with one `error:` line
    and exit status 1, as the batch job does, instead of a traceback that buries the variable's name."""
    if settings is None:
        try:
            settings = ServiceSettings.from_env()
            model = model or load_model_from(settings.model)
        except STARTUP_ERRORS as error:
            raise SystemExit(f"error: {error}") from None
    model = model or load_model_from(settings.model)
    model_name = settings.model.model_name
    logger.info("model %s loaded in %.3fs (digest %s)", model.version, model.load_seconds, model.metadata.digest)

    app = _App(__name__)
    # One byte over the limit: werkzeug stops a chunked body silently at the limit, so it must be able to
    # read one byte more for `_read_body` to tell "exactly the limit" from "longer".
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes + 1
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the stream's record key order

    # The carried size of one record with the longest duration and ride id 0 (answer_size).
    record_size = carried_size(app.json.dumps(prediction_record(model_name, model.version, 0, float(LONGEST_FLOAT))))

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok", model=model_name, version=model.version, digest=model.metadata.digest)

    @app.get("/ping")
    def ping() -> Response:
        """MLflow's liveness check (its clients only look at the status)."""
        return jsonify(status="ok")

    @app.get("/version")
    def version() -> Response:
        """The served model's version (its MLflow run id), where `mlflow models serve` gives MLflow's."""
        return jsonify(model=model_name, version=model.version)

    @app.post("/predict")
    def predict() -> Response:
        parsed = parse_predict_body(_read_body(settings.max_request_bytes))
        check_records_answer(record_size, (event.ride_id for event in parsed.events), parsed.is_list)
        outcomes = _scored(score_rides(model, parsed.events), parsed.is_list, "rides")
        records = [
            prediction_record(model_name, model.version, outcome.ride_id, outcome.ride_duration)
            for outcome in outcomes
            if isinstance(outcome, Prediction)
        ]
        return jsonify(records if parsed.is_list else records[0])

    @app.post("/invocations")
    def invocations() -> Response:
        rides = parse_invocations_body(_read_body(settings.max_request_bytes), request.mimetype)
        check_predictions_answer(len(rides))
        outcomes = _scored(score_rides(model, rides), True, "rows")
        return jsonify(predictions=[outcome.ride_duration for outcome in outcomes if isinstance(outcome, Prediction)])

    @app.errorhandler(AnswerTooLarge)
    def answer_too_large(error: AnswerTooLarge) -> tuple[Response, int]:
        return jsonify(error={"code": "answer_too_large", "message": str(error)}), 413

    @app.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> tuple[Response, int]:
        return jsonify(error.body()), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = error.code or 500
        name = (error.name or "error").lower().replace(" ", "_")
        message = error.description or name
        if code == 413:
            message = f"the body is larger than {settings.max_request_bytes} bytes (MAX_REQUEST_BYTES)"
        elif code == 408:
            message = "the client stopped sending the body before it was complete"
        return jsonify(error={"code": name, "message": message}), code

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> tuple[Response, int]:
        logger.exception("unhandled error")
        body: dict[str, Any] = {"error": {"code": "internal_error", "message": "the service failed; see its log"}}
        return jsonify(body), 500

    return app


class _App(Flask):
    def make_default_options_response(self) -> Response:
        """`OPTIONS`: 204 No Content with the route's `Allow` header, rather than Flask's 200 with an empty
        text/html body."""
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response


def _scored(outcomes: list[Outcome], is_list: bool, noun: str) -> list[Outcome]:
    """The outcomes when every ride got a prediction; else the 400 naming the rides the model rejected."""
    rejections = [(index, outcome) for index, outcome in enumerate(outcomes) if isinstance(outcome, Rejection)]
    if rejections:
        raise rejected_rides(rejections, len(outcomes), is_list, noun)
    return outcomes


def _read_body(max_bytes: int) -> bytes:
    """The body, or a 413 when it is longer than `max_bytes` (with or without a Content-Length), or a 408
    when the client stopped sending it.

    gunicorn's connections give up a read after GUNICORN_CLIENT_TIMEOUT (gunicorn_conf): a blocking socket
    with SO_RCVTIMEO raises BlockingIOError, one with a Python timeout TimeoutError. werkzeug reports any
    failed read as ClientDisconnected (a 400), raised while handling that error; the error tells the two
    apart."""
    try:
        body = request.get_data(cache=False)
    except ClientDisconnected as disconnected:
        if isinstance(disconnected.__context__, BlockingIOError | TimeoutError):
            raise RequestTimeout() from None
        raise
    if len(body) > max_bytes:
        raise RequestEntityTooLarge()
    return body
