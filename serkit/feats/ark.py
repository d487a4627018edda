"""Kaldi binary ark/scp writing that never leaves a half-written table behind.

The ark and scp are written under temporary names and renamed when complete; the scp already
names the final ark, so after the rename every offset is valid. Reading is kaldiio's.
"""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import kaldiio
import numpy as np

from serkit.data.table import read_table
from serkit.errors import SerkitError
from serkit.utils.atomic import atomic_path


class AtomicArkWriter:
    """``with AtomicArkWriter(ark, scp) as w: w.write(key, matrix)``; committed on clean exit.

    Both files are written under temporary names of their own (serkit.utils.atomic) and renamed
    when the block ends without an error; the scp already names the final ark."""

    def __init__(self, ark_path, scp_path) -> None:
        self.ark_path = Path(ark_path).resolve()
        self.scp_path = Path(scp_path)
        self._stack: Optional[ExitStack] = None
        self._ark = None
        self._scp = None
        self.count = 0

    def __enter__(self) -> "AtomicArkWriter":
        stack = ExitStack()
        try:  # left in reverse: the ark is renamed before the scp, so a new scp always finds its ark
            scp_tmp = stack.enter_context(atomic_path(self.scp_path))
            ark_tmp = stack.enter_context(atomic_path(self.ark_path))
            self._ark = stack.enter_context(open(ark_tmp, "wb"))
            self._scp = stack.enter_context(open(scp_tmp, "w", encoding="utf-8"))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, key: str, matrix: np.ndarray) -> None:
        start = self._ark.tell()
        kaldiio.save_ark(self._ark, {key: matrix})
        offset = start + len(key.encode("utf-8")) + 1  # Kaldi's offset points past "key "
        self._scp.write(f"{key} {self.ark_path}:{offset}\n")
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stack.__exit__(exc_type, exc, tb)


def load_matrix(rxfilename: str, what: str = "") -> np.ndarray:
    """Read one matrix from ``path.ark:offset`` (or any kaldiio rxfilename)."""
    try:
        return np.asarray(kaldiio.load_mat(rxfilename))
    except FileNotFoundError as err:
        raise SerkitError(f"{what or rxfilename}: feature file missing ({err.filename}); rerun feature extraction") from None
    except Exception as err:  # truncated or foreign data: kaldiio raises various types
        raise SerkitError(f"{what or rxfilename}: cannot read matrix ({type(err).__name__}: {err})") from None


def iter_scp(scp_path) -> Iterator[Tuple[str, np.ndarray]]:
    """``(key, matrix)`` for every line of an scp, with errors naming ``file:line``."""
    table = read_table(scp_path)
    for key, value in table.items():
        yield key, load_matrix(value, f"{table.where(key)} ('{key}')")


def load_scp(scp_path) -> Dict[str, np.ndarray]:
    return dict(iter_scp(scp_path))
