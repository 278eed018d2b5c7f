"""ride-scorer: ride-duration scoring on AWS, one core for the stream Lambda, HTTP, batch files and Spark.

Layers, from the bottom (enforced by import-linter in `make test`):
- `core`: ride documents to outcomes (validation, features, one predict, output rules) and the ports
  (`core.interfaces`). No AWS SDK, Lambda, Flask, pyarrow or Spark.
- `adapters`: the AWS side of the ports (Kinesis, SQS, the S3 model store), used by every mode.
- `columnar`: Arrow record batches to outcomes and back (the predictions and rejects columns), shared by the
  two modes that read parquet, so a backfill writes exactly what the batch job writes.
- `stream`, `batch`, `http_service`, `backfill`: the modes; each reads documents its own way and writes
  outcomes its own way, and none imports another. `lambda_function.app` is the stream's Lambda entry
  point, `http_service.aws_lambda` the HTTP service's; `backfill` is the batch job's scoring on Spark.
- `tools`: operator and local tools (producer, consumer, reconcile, the local runner, emulators). They ship
  in no image and no product module imports them.
"""
