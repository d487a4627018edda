"""Kaldi binary ark/scp writing that never leaves a half-written table behind.

The ark and scp are written under temporary names and renamed when complete; the scp already
names the final ark, so after the rename every offset is valid. Reading is kaldiio's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, Tuple

import kaldiio
import numpy as np

from serkit.data.table import read_table
from serkit.errors import SerkitError


class AtomicArkWriter:
    """``with AtomicArkWriter(ark, scp) as w: w.write(key, matrix)``; committed on clean exit."""

    def __init__(self, ark_path, scp_path) -> None:
        self.ark_path = Path(ark_path).resolve()
        self.scp_path = Path(scp_path)
        self._ark_tmp = self.ark_path.with_name(self.ark_path.name + ".tmp")
        self._scp_tmp = self.scp_path.with_name(self.scp_path.name + ".tmp")
        self._ark = None
        self._scp = None
        self.count = 0

    def __enter__(self) -> "AtomicArkWriter":
        self.ark_path.parent.mkdir(parents=True, exist_ok=True)
        self.scp_path.parent.mkdir(parents=True, exist_ok=True)
        self._ark = open(self._ark_tmp, "wb")
        self._scp = open(self._scp_tmp, "w", encoding="utf-8")
        return self

    def write(self, key: str, matrix: np.ndarray) -> None:
        start = self._ark.tell()
        kaldiio.save_ark(self._ark, {key: matrix})
        offset = start + len(key.encode("utf-8")) + 1  # Kaldi's offset points past "key "
        self._scp.write(f"{key} {self.ark_path}:{offset}\n")
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        self._ark.close()
        self._scp.close()
        if exc_type is None:
            os.replace(self._ark_tmp, self.ark_path)
            os.replace(self._scp_tmp, self.scp_path)
        else:
            for tmp in (self._ark_tmp, self._scp_tmp):
                if tmp.exists():
                    tmp.unlink()


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
