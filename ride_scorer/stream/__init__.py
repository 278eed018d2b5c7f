"""The stream mode: the records of one Lambda invocation through the core to Kinesis and SQS."""
