"""Local development tools: the Kinesis event-source runner's parts, emulators, ride sources.

Nothing here runs inside the Lambda; it lets the same handler run against moto, LocalStack or AWS from
a laptop or CI, without Docker.
"""
