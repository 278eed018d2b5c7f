"""What the operator tools share on the command line: bad arguments are one `error:` line and exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class ToolParser(argparse.ArgumentParser):
    """argparse, but a refused argument is one `error: ...` line (no usage block), exit status 2, like every
    other refusal of the tools; `--help` still shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())} (see --help)\n")


def non_negative_int(text: str) -> int:
    """An argparse type: a count (0 or more); argparse turns the ValueError of a non-number into one line."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def fail(error: BaseException | str, code: int = 2) -> int:
    """One `error:` line on stderr, whatever the message holds; returns the exit status."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    return code
