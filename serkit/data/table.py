"""Kaldi key tables: ``<key> <value>`` per line, sorted by key in C locale.

Reading is strict and every complaint names ``file:line``: tables are the contract between all
tools, and a silently misparsed line (a stray tab, a Windows line ending, a duplicate key) turns
into a wrong result hours later.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from serkit.errors import TableError
from serkit.utils.atomic import atomic_write_text

PathLike = Union[str, os.PathLike]
_SEP = re.compile(r"[ \t]+")


class KeyTable(dict):
    """An ordered ``key -> value`` mapping that remembers where each key came from."""

    def __init__(self, path: Optional[PathLike] = None) -> None:
        super().__init__()
        self.path = str(path) if path is not None else "<memory>"
        self.line_of: Dict[str, int] = {}

    def where(self, key: str) -> str:
        """``file:line`` of ``key``, for error messages."""
        line = self.line_of.get(key)
        return f"{self.path}:{line}" if line is not None else self.path

    def fields(self, key: str) -> List[str]:
        """The value of ``key`` split on whitespace (segments, spk2utt, ...)."""
        return self[key].split()


def _decode(raw: bytes, path: str, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TableError(
            f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
            f"Kaldi tables must be UTF-8 text: convert the file, e.g. "
            f"'iconv -f latin1 -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path}'"
        ) from None


def parse_line(raw: bytes, path: str, lineno: int, *, value_required: bool = True) -> Tuple[str, str]:
    """Split one raw table line into ``(key, value)``, or raise a :class:`TableError`."""
    if raw.endswith(b"\r"):
        raise TableError(
            f"{path}:{lineno}: Windows line ending (\\r\\n); convert with \"sed -i 's/\\r$//' {path}\""
        )
    text = _decode(raw, path, lineno)
    if not text.strip():
        raise TableError(f"{path}:{lineno}: empty line; delete it (tables have one '<key> <value>' per line)")
    if text[0] in " \t":
        raise TableError(
            f"{path}:{lineno}: line starts with whitespace ({text[:30]!r}); the key must be the first field"
        )
    parts = _SEP.split(text.rstrip(" \t"), maxsplit=1)
    key = parts[0]
    value = parts[1] if len(parts) == 2 else ""
    if value_required and not value:
        raise TableError(f"{path}:{lineno}: key '{key}' has no value; expected '<key> <value>'")
    return key, value


def read_table(path: PathLike, *, value_required: bool = True) -> KeyTable:
    """Read a Kaldi table; duplicate keys, bad encodings and mangled lines raise ``TableError``."""
    path = str(path)
    table = KeyTable(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except OSError as err:
        raise TableError(f"{path}: cannot read ({err.strerror})") from None
    if data and not data.endswith(b"\n"):
        data += b"\n"
    for lineno, raw in enumerate(data.split(b"\n")[:-1], start=1):
        key, value = parse_line(raw, path, lineno, value_required=value_required)
        if key in table:
            raise TableError(
                f"{path}:{lineno}: duplicate key '{key}' (first at line {table.line_of[key]}); "
                f"keys must be unique: remove one of the two lines"
            )
        table[key] = value
        table.line_of[key] = lineno
    return table


def c_sort_key(key: str) -> bytes:
    """Sort order of ``LC_ALL=C sort``: byte-wise on the UTF-8 encoding."""
    return key.encode("utf-8")


def first_unsorted(keys: Iterable[str]) -> Optional[Tuple[str, str]]:
    """The first adjacent pair out of C order, or None when sorted."""
    prev = None
    for key in keys:
        if prev is not None and c_sort_key(key) < c_sort_key(prev):
            return prev, key
        prev = key
    return None


def write_table(path: PathLike, table: Mapping[str, str], *, sort: bool = True) -> None:
    """Write ``key value`` lines atomically (a reader never sees a half-written table)."""
    keys = sorted(table, key=c_sort_key) if sort else list(table)
    lines = []
    for key in keys:
        value = str(table[key])
        if not key or _SEP.search(key):
            raise TableError(f"{path}: cannot write key {key!r}: keys must be non-empty and contain no whitespace")
        lines.append(f"{key} {value}\n" if value != "" else f"{key}\n")
    atomic_write_text(path, "".join(lines))


def invert_multimap(table: Mapping[str, str]) -> Dict[str, str]:
    """``utt2spk`` -> ``spk2utt`` (values are space-joined, keys and lists in C order)."""
    out: Dict[str, List[str]] = {}
    for key in sorted(table, key=c_sort_key):
        out.setdefault(table[key], []).append(key)
    return {k: " ".join(v) for k, v in out.items()}


def expand_multimap(table: Mapping[str, str]) -> Dict[str, str]:
    """``spk2utt`` -> ``utt2spk``."""
    out: Dict[str, str] = {}
    for spk, utts in table.items():
        for utt in utts.split():
            if utt in out:
                raise TableError(f"utterance '{utt}' is listed under both '{out[utt]}' and '{spk}'")
            out[utt] = spk
    return out


def read_label_list(path: PathLike, minimum: int = 1) -> List[str]:
    """A label list: one label per line, in class-index order (a second column, such as an id,
    is ignored); fewer than ``minimum`` labels is an error."""
    labels = list(read_table(path, value_required=False))
    if len(labels) < minimum:
        raise TableError(f"{path}: needs at least {minimum} label{'s' if minimum > 1 else ''}, found {len(labels)}; "
                         f"write one label per line")
    return labels


def write_label_list(path: PathLike, labels: Sequence[str]) -> None:
    atomic_write_text(path, "".join(f"{label}\n" for label in labels))
