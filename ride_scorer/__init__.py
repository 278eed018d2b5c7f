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

Everything here is product code that some image carries (README's "How the code is laid out" has the
table): the Lambda image `core`, `adapters` and `stream`; the batch/HTTP image `core`, `adapters`,
`columnar`, `batch` and `http_service`; the backfill archive `core`, `adapters`, `columnar` and `backfill`.
The operator and local tools (top-level `tools`), `training` and `infra` sit above this package, ship in no
image, and no module here imports them.
"""
