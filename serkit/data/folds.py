"""Speaker-independent cross-validation folds over a data directory's speakers.

Schemes:

* ``loso``: leave one speaker out; one fold per speaker, in sorted (C-locale) order.
* ``leave-n-out``: consecutive groups of N speakers in sorted order (the last group may be smaller).
* ``file``: a fold file, one fold per line::

      # <fold-name> <test-speakers,comma-separated> [<dev-speakers,comma-separated> | -]
      fold1 03,08
      fold2 09,10 11
      fold3 11,12 -

  Fields are separated by spaces or tabs; blank lines and ``#`` comments are ignored. The folds
  are named ``fold1``, ``fold2``, ... in order (recipes run fold k as job k). A third field gives the dev
  speakers; ``-`` means no dev set; without it the ``dev_speakers`` rule below applies. Every
  speaker not in a fold's test or dev set trains it. ``make_fold_dirs`` writes
  ``<out-root>/folds.txt`` in this format, so every run can be repeated with ``--scheme file``.

Dev speakers (``dev_speakers = k``): the k speakers that follow the test group in the cycle of
speakers (the order in which the groups list them, then the remaining speakers in sorted order),
wrapping round and skipping test speakers; 0 means no dev set. Training is every other speaker.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from serkit.data.datadir import ALL_TABLES, DataDir, ensure_dir
from serkit.data.ops import subset_data_dir
from serkit.data.table import PathLike, c_sort_key
from serkit.errors import SerkitError
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

SCHEMES = ("loso", "leave-n-out", "file")
PARTS = ("train", "dev", "test")


class FoldError(SerkitError):
    """Folds cannot be built, or a train/test split is not speaker-independent."""


@dataclass(frozen=True)
class Fold:
    name: str
    test: Tuple[str, ...]
    dev: Tuple[str, ...]
    train: Tuple[str, ...]

    def describe(self, utts_per_spk: Optional[Dict[str, int]] = None) -> str:
        def part(label: str, spks: Tuple[str, ...]) -> str:
            if not spks:
                return f"{label} -"
            n = f" ({sum(utts_per_spk.get(s, 0) for s in spks)} utts)" if utts_per_spk is not None else ""
            return f"{label} {','.join(spks)}{n}"

        return f"{self.name}: {part('test', self.test)} | {part('dev', self.dev)} | {part('train', self.train)}"


def speakers_of(data_dir: PathLike) -> List[str]:
    """The speakers of ``<data_dir>/utt2spk`` in C-locale order."""
    return sorted(set(DataDir(data_dir).table("utt2spk").values()), key=c_sort_key)


def _fold_names(count: int) -> List[str]:
    """``fold1 .. foldN``: unpadded, so ``run.pl JOB=1:N ... data/folds/foldJOB`` addresses them."""
    return [f"fold{i + 1}" for i in range(count)]


def _cycle(speakers: Sequence[str], groups: Sequence[Sequence[str]]) -> List[str]:
    order: List[str] = []
    seen = set()
    for group in groups:
        for s in group:
            if s not in seen:
                order.append(s)
                seen.add(s)
    return order + [s for s in sorted(speakers, key=c_sort_key) if s not in seen]


def _make_fold(
    name: str, test: Sequence[str], dev: Optional[Sequence[str]], speakers: Sequence[str], cycle: Sequence[str],
    dev_speakers: int, where: str,
) -> Fold:
    """One fold; ``dev`` None means 'pick by the dev_speakers rule'. ``where`` prefixes errors."""
    known = set(speakers)
    for what, spks in (("test", test), ("dev", dev or ())):
        unknown = [s for s in spks if s not in known]
        if unknown:
            raise FoldError(
                f"{where}fold '{name}': {what} speakers {unknown} are not speakers of the data directory "
                f"(which has {len(speakers)}: {', '.join(speakers[:8])}{', ...' if len(speakers) > 8 else ''})"
            )
        dup = sorted({s for s in spks if list(spks).count(s) > 1})
        if dup:
            raise FoldError(f"{where}fold '{name}': {what} speakers {dup} are listed twice")
    if not test:
        raise FoldError(f"{where}fold '{name}': no test speakers")
    both = [s for s in (dev or ()) if s in test]
    if both:
        raise FoldError(f"{where}fold '{name}': speakers {both} are in both the test and the dev set")
    if dev is None:
        if dev_speakers < 0:
            raise FoldError(f"dev_speakers must be 0 or more, got {dev_speakers}")
        others = len(speakers) - len(test)
        if dev_speakers and dev_speakers >= others:
            raise FoldError(
                f"{where}fold '{name}': cannot take {dev_speakers} dev speakers and keep one for training: only "
                f"{others} speakers are not in the test set; use fewer dev speakers (0 for no dev set)"
            )
        start = cycle.index(test[-1]) + 1
        rotated = list(cycle[start:]) + list(cycle[:start])
        dev = [s for s in rotated if s not in test][:dev_speakers]
    train = tuple(s for s in speakers if s not in test and s not in dev)
    if not train:
        raise FoldError(f"{where}fold '{name}': no speakers left for training; test or dev set is too large")
    return Fold(name, tuple(test), tuple(dev), train)


def folds_from_groups(
    speakers: Sequence[str],
    groups: Sequence[Sequence[str]],
    *,
    dev_speakers: int = 1,
    names: Optional[Sequence[str]] = None,
) -> List[Fold]:
    """One fold per group of test speakers, with dev speakers by the cycle rule."""
    speakers = sorted(speakers, key=c_sort_key)
    if not groups:
        raise FoldError("no folds: the list of test groups is empty")
    names = list(names) if names is not None else _fold_names(len(groups))
    cycle = _cycle(speakers, groups)
    folds = [_make_fold(n, list(g), None, speakers, cycle, dev_speakers, "") for n, g in zip(names, groups)]
    _report_coverage(speakers, folds, "")
    return folds


def loso_folds(speakers: Sequence[str], *, dev_speakers: int = 1) -> List[Fold]:
    """Leave one speaker out: one fold per speaker."""
    speakers = sorted(speakers, key=c_sort_key)
    if len(speakers) < 2:
        raise FoldError(f"leave-one-speaker-out needs at least 2 speakers, got {len(speakers)}")
    return folds_from_groups(speakers, [[s] for s in speakers], dev_speakers=dev_speakers)


def leave_n_out_folds(speakers: Sequence[str], n: int, *, dev_speakers: int = 1) -> List[Fold]:
    """Consecutive groups of ``n`` speakers in sorted order (the last one may be smaller)."""
    speakers = sorted(speakers, key=c_sort_key)
    if n < 1 or n >= len(speakers):
        raise FoldError(
            f"leave-{n}-speakers-out: N must be between 1 and {len(speakers) - 1} for {len(speakers)} speakers"
        )
    groups = [speakers[i:i + n] for i in range(0, len(speakers), n)]
    if len(groups[-1]) < n:
        logger.warning("leave-%d-out: %d speakers do not divide into groups of %d; the last fold tests %d speakers",
                       n, len(speakers), n, len(groups[-1]))
    return folds_from_groups(speakers, groups, dev_speakers=dev_speakers)


def _report_coverage(speakers: Sequence[str], folds: Sequence[Fold], where: str) -> None:
    tested: Dict[str, int] = {}
    for f in folds:
        for s in f.test:
            tested[s] = tested.get(s, 0) + 1
    twice = [s for s, k in tested.items() if k > 1]
    never = [s for s in speakers if s not in tested]
    if twice:
        logger.warning("%sspeakers %s are tested in more than one fold; pooled scores would count them twice",
                       where, twice)
    if never:
        logger.info("%s%d speakers are never tested: %s", where, len(never), never)


def _speaker_list(field: str, where: str, what: str) -> List[str]:
    spks = field.split(",")
    if any(not s for s in spks):
        raise FoldError(f"{where}empty speaker in the {what} list '{field}'; separate speakers by single commas")
    return spks


def read_fold_file(path: PathLike, speakers: Sequence[str], *, dev_speakers: int = 1) -> List[Fold]:
    """Parse a fold file (format in the module docstring); errors name ``file:line``."""
    path = str(path)
    speakers = sorted(speakers, key=c_sort_key)
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise FoldError(f"{path}: fold file not found") from None
    except UnicodeDecodeError:
        raise FoldError(f"{path}: not UTF-8 text; convert it (e.g. with iconv)") from None
    entries: List[Tuple[str, List[str], Optional[List[str]], str]] = []
    line_of: Dict[str, int] = {}
    for lineno, raw in enumerate(lines, start=1):
        where = f"{path}:{lineno}: "
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise FoldError(
                f"{where}expected '<fold-name> <test-speakers,...> [<dev-speakers,...> | -]', got {len(fields)} "
                f"fields: '{raw.strip()}' (separate speakers by commas, without spaces)"
            )
        name = fields[0]
        if name in line_of:
            raise FoldError(f"{where}fold name '{name}' is already used at line {line_of[name]}; names must be unique")
        expected = f"fold{len(entries) + 1}"
        if name != expected:
            raise FoldError(f"{where}fold name '{name}': the recipes run fold k as job k (data/folds/fold<k>), so "
                            f"the folds are named fold1, fold2, ... in order; call this one {expected}")
        line_of[name] = lineno
        test = _speaker_list(fields[1], where, "test")
        dev = None if len(fields) == 2 else ([] if fields[2] == "-" else _speaker_list(fields[2], where, "dev"))
        entries.append((name, test, dev, where))
    if not entries:
        raise FoldError(f"{path}: no folds; write one '<fold-name> <test-speakers,...>' line per fold")
    cycle = _cycle(speakers, [e[1] for e in entries])
    folds = [_make_fold(n, t, d, speakers, cycle, dev_speakers, w) for n, t, d, w in entries]
    _report_coverage(speakers, folds, f"{path}: ")
    return folds


def format_fold_file(folds: Sequence[Fold]) -> str:
    """The fold-file text for ``folds`` (dev given explicitly: '-' when empty)."""
    lines = ["# <fold-name> <test-speakers,...> <dev-speakers,...|->   (training: every other speaker)"]
    lines += [f"{f.name} {','.join(f.test)} {','.join(f.dev) if f.dev else '-'}" for f in folds]
    return "\n".join(lines) + "\n"


def make_folds(
    data_dir: PathLike, scheme: str = "loso", *, n: int = 2, fold_file: Optional[PathLike] = None,
    dev_speakers: int = 1,
) -> List[Fold]:
    """Folds over the speakers of ``data_dir`` by ``scheme`` (``loso``, ``leave-n-out`` or ``file``)."""
    if scheme not in SCHEMES:
        raise FoldError(f"unknown fold scheme '{scheme}'; choose one of {', '.join(SCHEMES)}")
    speakers = speakers_of(data_dir)
    if scheme == "loso":
        return loso_folds(speakers, dev_speakers=dev_speakers)
    if scheme == "leave-n-out":
        return leave_n_out_folds(speakers, n, dev_speakers=dev_speakers)
    if fold_file is None:
        raise FoldError("scheme 'file' needs a fold file (--fold-file)")
    return read_fold_file(fold_file, speakers, dev_speakers=dev_speakers)


def check_speaker_independent(train_dir: PathLike, test_dir: PathLike, *, allow_overlap: bool = False) -> List[str]:
    """The speakers shared by two data directories; an error unless there are none or ``allow_overlap``."""
    train_u2s = DataDir(train_dir).table("utt2spk")
    test_u2s = DataDir(test_dir).table("utt2spk")
    first_train: Dict[str, str] = {}
    for utt, spk in train_u2s.items():
        first_train.setdefault(spk, utt)
    first_test: Dict[str, str] = {}
    for utt, spk in test_u2s.items():
        first_test.setdefault(spk, utt)
    shared = sorted(set(first_train) & set(first_test), key=c_sort_key)
    if not shared:
        return []
    s = shared[0]
    listed = ", ".join(shared[:10]) + (f", ... ({len(shared)} in all)" if len(shared) > 10 else "")
    detail = (f"speaker '{s}' has utterance '{first_train[s]}' at {train_u2s.where(first_train[s])} and "
              f"'{first_test[s]}' at {test_u2s.where(first_test[s])}")
    if allow_overlap:
        logger.warning("%s and %s share %d speakers (%s); allowed, so the split is NOT speaker-independent",
                       train_dir, test_dir, len(shared), listed)
        return shared
    raise FoldError(
        f"{train_dir} and {test_dir} share speakers ({listed}): {detail}. The test set is not speaker-independent; "
        f"rebuild the split with serkit.bin.make_folds, or allow the overlap explicitly (allow_overlap=True) if a "
        f"speaker-dependent split is intended"
    )


def _clear_tables(part_dir: Path) -> None:
    """Remove the tables a previous run left (a stale feats.scp must not survive); keep anything else."""
    if not part_dir.is_dir():
        return
    for name in ALL_TABLES:
        if (part_dir / name).is_file():
            (part_dir / name).unlink()
    if not any(part_dir.iterdir()):
        part_dir.rmdir()


def make_fold_dirs(
    data_dir: PathLike, folds: Sequence[Fold], out_root: PathLike, *, allow_overlap: bool = False
) -> List[Path]:
    """Write ``<out_root>/<fold>/{train,dev,test}`` (dev only when the fold has dev speakers).

    Also writes ``<out_root>/folds.txt`` (a fold file) and checks every fold with
    :func:`check_speaker_independent` (train/test, train/dev, dev/test).
    """
    speakers = set(speakers_of(data_dir))
    names = [f.name for f in folds]
    if len(set(names)) != len(names):
        raise FoldError(f"fold names must be unique, got {names}")
    out = ensure_dir(out_root)
    fold_dirs = []
    for fold in folds:
        unknown = sorted(set(fold.test + fold.dev + fold.train) - speakers, key=c_sort_key)
        if unknown:
            raise FoldError(f"fold '{fold.name}': speakers {unknown} are not in {data_dir}/utt2spk")
        fold_dir = out / fold.name
        for part, spks in zip(PARTS, (fold.train, fold.dev, fold.test)):
            _clear_tables(fold_dir / part)
            if spks:
                subset_data_dir(data_dir, fold_dir / part, spks=list(spks))
            elif part != "dev":
                raise FoldError(f"fold '{fold.name}' has no {part} speakers")
        pairs = [("train", "test")] + ([("train", "dev"), ("dev", "test")] if fold.dev else [])
        for a, b in pairs:
            check_speaker_independent(fold_dir / a, fold_dir / b, allow_overlap=allow_overlap)
        fold_dirs.append(fold_dir)
    atomic_write_text(out / "folds.txt", format_fold_file(folds))
    logger.info("wrote %d folds under %s", len(folds), out)
    return fold_dirs
