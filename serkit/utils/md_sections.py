"""Named sections of a generated Markdown file that survive its regeneration.

A recipe's RESULTS.md is rewritten by its last stage; tables that come from elsewhere (a
benchmark script such as bench/robustness_emodb.sh) live between two HTML comments::

    <!-- section: robustness -->
    ...
    <!-- end section: robustness -->

``upsert`` puts or replaces one such section (``update_file`` in a file); ``sections`` lists them; ``write_keeping`` is
how a generator rewrites such a file without losing them.
"""
from __future__ import annotations

import re
from typing import Dict

_SECTION = re.compile(r"<!-- section: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- end section: (?P=name) -->\n?", re.S)


def _block(name: str, body: str) -> str:
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"section name {name!r}: use letters, digits, '_', '.', '-'")
    return f"<!-- section: {name} -->\n{body.rstrip()}\n<!-- end section: {name} -->\n"


def sections(text: str) -> Dict[str, str]:
    """The named sections of ``text`` as name -> body (without the markers), in file order."""
    return {m.group("name"): m.group("body") for m in _SECTION.finditer(text)}


def upsert(text: str, name: str, body: str) -> str:
    """``text`` with section ``name`` set to ``body``: replaced where it is, else appended at the end."""
    block = _block(name, body)
    for m in _SECTION.finditer(text):
        if m.group("name") == name:
            return text[: m.start()] + block + text[m.end():]
    return text.rstrip("\n") + "\n\n" + block if text.strip() else block


def update_file(path, name: str, body: str) -> None:
    """Put section ``name`` into the Markdown file at ``path`` (made when missing), atomically."""
    from pathlib import Path

    from serkit.utils.atomic import atomic_write_text

    target = Path(path)
    atomic_write_text(target, upsert(target.read_text() if target.is_file() else "", name, body))


def write_keeping(path, text: str) -> str:
    """Write ``text`` to ``path`` with the named sections of the file already there carried over;
    returns what was written."""
    from pathlib import Path

    target = Path(path)
    if target.is_file():
        for name, body in sections(target.read_text()).items():
            text = upsert(text, name, body)
    target.write_text(text)
    return text
