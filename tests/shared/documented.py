"""The fenced shell commands of README.md and docs/*.md, as the docs check (tests/docs) reads them: blocks,
their `<!-- needs: ... -->` markers, and the simple commands in each."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.shared.paths import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
# `<!-- needs: aws, docker -->` on the line before a fence: the block needs what it names, which this machine
# lacks, so its commands are checked for what can be checked here but not required to run.
MARKER = re.compile(r"^<!--\s*needs:\s*([a-z, -]+?)\s*-->$")
KNOWN_NEEDS = {"aws", "docker"}
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
SEPARATORS = {"&&", "||", "|", ";", "&"}


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    needs: frozenset[str]
    text: str

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Command:
    block: Block
    words: tuple[str, ...]  # environment assignments (NAME=value) removed
    assignments: tuple[str, ...] = ()  # ... and kept here, as written (`PATH=.venv/bin:$PATH`)

    @property
    def program(self) -> str:
        return self.words[0]

    def __str__(self) -> str:
        return f"{self.block.where}: {shlex.join(self.words)}"


def read_blocks(document: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = document.read_text(encoding="utf-8").splitlines()
    opened: tuple[int, str, frozenset[str]] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if opened is None and fence:
            previous = next((text.strip() for text in reversed(lines[: number - 1]) if text.strip()), "")
            marker = MARKER.match(previous)
            needs = frozenset(part.strip() for part in marker.group(1).split(",")) if marker else frozenset()
            opened, body = (number, fence.group(2), needs), []
        elif opened is not None and fence and not fence.group(2):
            blocks.append(Block(document, opened[0], opened[1], opened[2], "\n".join(body)))
            opened = None
        elif opened is not None:
            body.append(line)
    return blocks


SHELL_KEYWORDS = {"do", "then", "else", "{", "}", "!"}
SKIPPED_KEYWORDS = {"for", "while", "until", "if", "done", "fi", "esac", "case"}
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")


def commands_of(block: Block) -> list[Command]:
    """Each simple command of a shell block: continuation lines joined, comments dropped, split at && | ;,
    the commands inside $(...) taken as commands too, and loop or branch keywords set aside."""
    text = block.text.replace("\\\n", " ")
    inner = [
        Block(block.document, block.line, block.language, block.needs, found) for found in SUBSTITUTION.findall(text)
    ]
    lexer = shlex.shlex(SUBSTITUTION.sub("SUBSTITUTED", text), posix=True, punctuation_chars="&|;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[Command] = [command for part in inner for command in commands_of(part)]
    words: list[str] = []
    for token in [*lexer, ";"]:
        if token in SEPARATORS or token in {";;", "\n"}:
            while words and words[0] in SHELL_KEYWORDS:
                words.pop(0)
            assignments = 0
            while assignments < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[assignments]):
                assignments += 1
            if words[assignments:] and words[assignments] not in SKIPPED_KEYWORDS:
                commands.append(Command(block, tuple(words[assignments:]), tuple(words[:assignments])))
            words = []
        else:
            words.append(token)
    return commands


def _lines_as_commands(block: Block) -> list[Command]:
    """Line by line, except that a quoted string spanning lines (a JSON argument) stays one word."""
    commands: list[Command] = []
    pending = ""
    for line in block.text.replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            found = commands_of(Block(block.document, block.line, block.language, block.needs, pending))
        except ValueError:  # no closing quotation yet
            continue
        commands.extend(
            Command(block, command.words, command.assignments) for command in found
        )  # each names its whole block
        pending = ""
    if pending:
        raise ValueError(f"{block.where}: a quotation that never closes")
    return commands


def documented_blocks() -> list[Block]:
    return [block for document in DOCUMENTS for block in read_blocks(document)]


def shell_commands(blocks: list[Block]) -> list[Command]:
    return [command for block in blocks if block.language in SHELL_LANGUAGES for command in _lines_as_commands(block)]
