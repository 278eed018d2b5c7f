"""ride-scorer: ride-duration scoring on AWS, one core for the stream Lambda, batch files and HTTP.

Layers, from the bottom (enforced by import-linter in `make test`):
- `core`: ride documents to outcomes (validation, features, one predict, output rules) and the ports
  (`core.interfaces`). No AWS SDK, Lambda, Flask or pyarrow.
- `adapters`: the AWS side of the ports (Kinesis, SQS, the S3 model store), used by every mode.
- `stream`, `batch`, `http_service`: the three modes; each reads documents its own way and writes outcomes
  its own way. `lambda_function.app` is the stream's Lambda entry point.
- `tools`: operator and local tools (producer, consumer, reconcile, the local runner, emulators). They ship
  in no image and no product module imports them.
"""
