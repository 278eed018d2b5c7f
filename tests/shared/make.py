"""Run a make target as a user types it, for the tests that check what targets do before any AWS call."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.shared.paths import ROOT


def run_make(
    *arguments: str,
    variables: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    environment: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`make ARGUMENTS NAME=value...` with the caller's environment minus `unset` (variables a developer may
    have exported that would change what the target sees), plus `environment`. The venv is taken as it is
    (`-o .venv/.installed`): a test never reinstalls it."""
    # Under `make test` the tests inherit MAKELEVEL and MAKEFLAGS: the make they start would be a sub-make
    # (`make[1]: ***` lines, the parent's flags), not the top-level make a user types.
    inherited = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR"}
    env = {key: value for key, value in os.environ.items() if key not in set(unset) | inherited}
    env.update(environment or {})
    assignments = [f"{name}={value}" for name, value in (variables or {}).items()]
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *arguments, *assignments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def first_line(result: subprocess.CompletedProcess[str]) -> str:
    """What the user reads: the target's own line (make adds its `make: *** ... Error 2` after it)."""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(lines) == 1, result.stderr
    return lines[0]
