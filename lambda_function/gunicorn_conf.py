"""Kept so that `gunicorn -c python:lambda_function.gunicorn_conf` in existing scripts still works: the
settings are now `ride_scorer.http_service.gunicorn_conf`. Not part of any image."""

from ride_scorer.http_service.gunicorn_conf import *  # noqa: F403  (gunicorn reads this module's names)
