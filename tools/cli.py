"""What the operator tools share on the command line: bad arguments are one `error:` line and exit 2, and
what they write is named as every mode names a location (`ride_scorer.columnar.locations`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import NoReturn

from ride_scorer.columnar import command_line


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
    """The modes' one `error:` line (`columnar.command_line.fail`); a tool's refusals exit with 2."""
    return command_line.fail(error, code)


def output_file(text: str, create_folder: bool = False) -> Path:
    """An argparse type for a file a tool writes: a local path or `file:` URI (`columnar.locations`, so `..`,
    `//` and symbolic links are resolved), itself not a folder, in a writable folder that exists (or, with
    `create_folder`, that the tool may create: `output_folder`). Refused before any work, with one line."""
    path = _local_output(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: it is a folder")
    if create_folder:
        output_folder(str(path.parent))
    elif not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {path.parent} does not exist")
    elif not os.access(path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {path.parent} is not writable")
    return path


def output_folder(text: str) -> Path:
    """An argparse type for a folder a tool creates or writes into, named as `output_file`: a folder, or a
    path under a writable folder that exists (it is created later)."""
    path = _local_output(text)
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write in {text!r}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {text!r}: the folder {existing} is not writable")
    return path


def _local_output(text: str) -> Path:
    from ride_scorer.columnar.locations import Location, LocationError  # pyarrow: only for tools that write

    try:
        location = Location.parse(text)
    except LocationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if location.is_s3:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: this tool writes a local file or folder, not S3")
    return Path(location.path)
