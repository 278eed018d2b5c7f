"""Kept so that `gunicorn ... 'lambda_function.http_app:create_app()'` in existing scripts still works: the
HTTP service is now `ride_scorer.http_service.app`. Not part of any image."""

from ride_scorer.http_service.app import create_app

__all__ = ["create_app"]
