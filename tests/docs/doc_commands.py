# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Find the runnable commands in the project's documentation, and turn a synopsis into a command line.

Read by tests/docs/test_documented_commands.py (which runs them) and tests/docs/test_doc_commands_parsing.py.

Rules (kept here, in one place, so a new README section is picked up without touching the tests):

- Documents: ``README.md`` and every ``docs/*.md``. Inside each ```` ```bash ```` block, lines ending in ``\\`` are
  joined, ``# comments`` dropped (shell rules, :mod:`shlex`), and a line is a documented command when it starts
  with ``monai-lite``, ``python -m monai.bundle`` / ``python3 -m monai.bundle``, ``python -m monai_lite.<tool>``
  (e.g. the CT label converter) or ``torchrun ... -m monai.bundle``
  (after optional ``VAR=value`` environment assignments). Other lines (``make``, ``pip``, ``tensorboard``) are not
  ours to run.
- Opting out: an HTML comment ``<!-- doc-test: skip REASON -->`` on the line before the opening fence (blank lines
  between are allowed) skips the whole block; the reason is required and is shown as the skip reason. Use it
  sparingly, for blocks that cannot run in a test at all (e.g. they need hardware CI lacks); prefer a fixture value.
- Synopsis notation: unquoted ``[...]`` groups are optional and left out; ``A|B`` (no spaces) takes ``A``; a ``...``
  token and a trailing ``...`` are dropped; UPPER_CASE words are placeholders that the test substitutes (an unknown
  one fails, naming it, so the fixture gets a value for it).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DocCommand", "documents", "find_commands", "strip_optional", "PLACEHOLDER", "REAL_DATA"]

#: Where documented commands find the shared real datasets.
REAL_DATA = "../shared/data"
_FENCE = re.compile(r"^\s*```bash\s*$")
_SKIP = re.compile(r"<!--\s*doc-test:\s*skip\b(?P<reason>.*?)-->")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: An upper-case placeholder word inside a token (``OUTDIR``, ``A`` in ``A/model.pt``, ``NAME`` in ``NAME.json``).
PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]*(?![a-z0-9_])")


@dataclass
class DocCommand:
    """One documented command.

    Attributes:
        source: ``README.md:57`` (file and line of the command's first line).
        text: the command as written (continuations joined).
        argv: the tokens after optional groups, alternatives and ``...`` were resolved; placeholders still in.
        env: ``VAR=value`` assignments written before the command.
        skip: the opt-out reason of its block, or None.
        real_data: some command of its block reads ``../shared/data``, so the whole block runs on real data (a
            later command uses what an earlier one wrote, e.g. evaluate after infer).
    """

    source: str
    text: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    skip: str | None = None
    real_data: bool = False


def documents(repo: Path) -> list[Path]:
    """README.md and docs/*.md of the checkout, in that order."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def strip_optional(text: str) -> str:
    """``text`` without its unquoted ``[...]`` groups (nested ones included); quoted JSON lists stay."""
    out, depth, quote = [], 0, None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            if depth == 0:
                out.append(char)
            continue
        if char in "'\"":
            quote = char
            if depth == 0:
                out.append(char)
        elif char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _resolve(token: str) -> str | None:
    if token == "...":
        return None
    if "|" in token and token != "|":
        token = token.split("|", 1)[0]
    return token[:-3] if token.endswith("...") and len(token) > 3 else token


def _is_ours(argv: list[str]) -> bool:
    if not argv:
        return False
    if argv[0] == "monai-lite":
        return True
    if argv[0] in ("python", "python3") and len(argv) > 2 and argv[1] == "-m" \
            and (argv[2] == "monai.bundle" or argv[2].startswith("monai_lite.")):
        return True
    return argv[0] == "torchrun" and "monai.bundle" in argv


def _blocks(path: Path) -> list[tuple[int, list[str], str | None]]:
    """``(line number of the first line, lines, skip reason)`` per bash block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if not _FENCE.match(lines[index]):
            index += 1
            continue
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = _SKIP.search(lines[before]) if before >= 0 else None
        reason = marker.group("reason").strip(" :-") if marker else None
        if marker and not reason:
            raise ValueError(f"{path.name}:{before + 1}: a doc-test skip marker needs a reason: <!-- doc-test: skip REASON -->")
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        blocks.append((index + 2, lines[index + 1 : end], reason))
        index = end + 1
    return blocks


def find_commands(path: Path, name: str | None = None) -> list[DocCommand]:
    """The documented commands of one Markdown file, in order (see the module docstring for the rules)."""
    found = []
    for first, lines, reason in _blocks(path):
        block_start = len(found)
        number, joined, start = first, "", first
        for line in lines:
            if not joined:
                start = number
            number += 1
            if line.rstrip().endswith("\\"):
                joined += line.rstrip()[:-1] + " "
                continue
            text, joined = (joined + line).strip(), ""
            tokens = shlex.split(strip_optional(text), comments=True)
            env = {}
            while tokens and _ENV.match(tokens[0]):
                key, _, value = tokens.pop(0).partition("=")
                env[key] = value
            if not _is_ours(tokens):
                continue
            argv = [t for t in map(_resolve, tokens) if t]
            found.append(DocCommand(f"{name or path.name}:{start}", text, argv, env, reason))
        block = found[block_start:]
        if any(REAL_DATA in token for command in block for token in command.argv):
            for command in block:
                command.real_data = True
    return found
