"""The HTTP mode: Flask over the core, served by gunicorn."""
