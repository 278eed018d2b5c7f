"""What the batch and backfill command lines share: one `error:` line for a failure, and the argument types
their parsers use. Here, below the modes, so that neither imports the other to reuse them."""

from __future__ import annotations

import argparse
import sys


def fail(error: BaseException | str, code: int = 1) -> int:
    """Print one `error:` line on stderr, whatever the message holds (pyarrow's, botocore's and Spark's may span
    lines), and return the exit code."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr, flush=True)
    return code


def positive_int(text: str) -> int:
    """argparse type: a positive integer, or the parser's one-line usage error naming the value."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value
