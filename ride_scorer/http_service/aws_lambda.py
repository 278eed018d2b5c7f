"""The HTTP service on AWS Lambda: API Gateway HTTP API events (payload format 2.0) and Lambda Function URL
events, which have the same shape, go to the same Flask app gunicorn serves, through apig-wsgi.

The function runs the batch/HTTP image (Dockerfile.batch) with another command: its ImageConfig
(infra/templates/web.yaml) starts awslambdaric, AWS's runtime interface client, with
`ride_scorer.http_service.aws_lambda.handler`. So the routes, the validation and every answer (the JSON, the
400s, the 413 over MAX_REQUEST_BYTES) are the app's own, byte for byte what gunicorn answers.

apig-wsgi turns the event into a WSGI request (a body API Gateway base64-encoded, `isBase64Encoded`, is
decoded first) and the app's response into the proxy answer. Settings (MODEL_LOCATION, MODEL_SHA256,
MODEL_NAME, MAX_REQUEST_BYTES) are read and the model loaded once per container, on its first event, as the
stream handler does. A setting or model the service cannot start with fails that invocation with an error
naming it (API Gateway answers 500, the function's Errors metric and the 5xx alarm see it); the next event
tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apig_wsgi import make_lambda_handler

from ride_scorer.http_service.app import create_app
from ride_scorer.http_service.settings import ServiceSettings

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

_handler: LambdaHandler | None = None


def get_handler() -> LambdaHandler:
    """The app wrapped for API Gateway, made on the container's first event with the environment's settings."""
    global _handler
    if _handler is None:
        _handler = make_lambda_handler(create_app(ServiceSettings.from_env()))
    return _handler


def reset() -> None:
    """Forget the app and its model (a new container, as far as the handler can tell)."""
    global _handler
    _handler = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """awslambdaric's entry: one HTTP request in, one proxy response (`statusCode`, `headers`, `body`) out."""
    return get_handler()(event, context)
