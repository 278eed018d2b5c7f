"""The AWS side of the core's ports (Kinesis, SQS) and the one model loader (S3 or a local folder)."""
