"""Progress bars that stay readable in log files: frequent updates on a terminal, a line every
``log_interval`` seconds when the output goes to a file (run.pl / slurm.pl logs)."""
from __future__ import annotations

import sys
from typing import Iterable, Optional, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, unit: str = "it", disable: bool = False, total: Optional[int] = None,
             log_interval: float = 30.0, leave: bool = True) -> "tqdm[T]":
    tty = sys.stderr.isatty()
    return tqdm(iterable, desc=desc, unit=unit, disable=disable, total=total, leave=leave,
                mininterval=0.5 if tty else log_interval, file=sys.stderr)
