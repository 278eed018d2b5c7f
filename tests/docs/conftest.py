"""The fenced shell commands of README.md and docs/*.md, read once per session for the docs check."""

from __future__ import annotations

import pytest

from tests.shared.documented import Block, Command, documented_blocks, shell_commands


@pytest.fixture(scope="session")
def blocks() -> list[Block]:
    return documented_blocks()


@pytest.fixture(scope="session")
def documented_commands(blocks: list[Block]) -> list[Command]:
    return shell_commands(blocks)
