"""Shared plumbing for command-line entry points: logging setup and one-line errors."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, List, Optional

from serkit.errors import SerkitError


def setup_logging(verbose: int = 0) -> None:
    level = logging.DEBUG if verbose > 0 else logging.INFO
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )


def parser(description: str, prog: Optional[str] = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    return p


def run(main: Callable[[List[str]], Optional[int]], argv: Optional[List[str]] = None, prog: str = "") -> None:
    """Call ``main(argv)``; a :class:`SerkitError` becomes ``prog: ERROR: message`` and exit 1."""
    argv = sys.argv[1:] if argv is None else argv
    prog = prog or sys.argv[0].rsplit("/", 1)[-1]
    try:
        code = main(argv)
    except SerkitError as err:
        print(f"{prog}: ERROR: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
