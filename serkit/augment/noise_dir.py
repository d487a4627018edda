"""A folder of noise recordings as Kaldi data directories ``<dst>/train`` and ``<dst>/test``.

The split is by recording, stratified by the top-level subfolder (the kind of noise: esc50/,
speech_commands/, household/ ...) so that each kind is on both sides, and deterministic from
the seed. ``test`` is the held-out noise of robustness tests: it carries a ``HELD_OUT`` file, and
augment_data_dir warns about (and marks) everything made with it. Never train on it.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from serkit.augment.datadir import HELD_OUT, stable_rng
from serkit.data.corpus import PrepReport, find_audio, probe_duration
from serkit.data.datadir import ALL_TABLES, ensure_dir
from serkit.data.table import PathLike, invert_multimap, write_table
from serkit.errors import DataDirError, SerkitError
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

TOP = "(top)"  # group of the files directly in the folder
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass
class Recording:
    rid: str
    path: Path
    group: str
    seconds: float


@dataclass
class NoiseDirSummary:
    """Recordings and seconds per (split, group), and what could not be used."""

    counts: Dict[Tuple[str, str], Tuple[int, float]] = field(default_factory=dict)
    rejected: List[str] = field(default_factory=list)

    def total(self, split: str) -> Tuple[int, float]:
        rows = [v for (s, _), v in self.counts.items() if s == split]
        return sum(n for n, _ in rows), sum(sec for _, sec in rows)

    def __str__(self) -> str:
        lines = [f"{'split':<6} {'subfolder':<24} {'recordings':>10} {'minutes':>8}"]
        for split in ("train", "test"):
            for (s, group), (n, sec) in sorted(self.counts.items()):
                if s == split:
                    lines.append(f"{split:<6} {group:<24} {n:>10d} {sec / 60:>8.1f}")
            n, sec = self.total(split)
            if n:
                lines.append(f"{split:<6} {'(all)':<24} {n:>10d} {sec / 60:>8.1f}")
        if self.rejected:
            lines.append(f"{len(self.rejected)} files not used (see rejected.txt)")
        return "\n".join(lines)


def recording_id(rel: Path) -> str:
    """``esc50/1-100032-A-0.flac`` -> ``esc50-1-100032-A-0``: the relative path, no suffix."""
    return "-".join(_UNSAFE.sub("_", part) for part in rel.with_suffix("").parts)


def scan(folder: PathLike, report: PrepReport) -> List[Recording]:
    folder = Path(folder)
    out: List[Recording] = []
    seen: Dict[str, Path] = {}
    for path in find_audio(folder, report):
        rel = path.relative_to(folder)
        rid = recording_id(rel)
        if rid in seen:
            raise DataDirError(
                f"noise recordings '{seen[rid]}' and '{path}' both get the id '{rid}'; rename one of them"
            )
        seen[rid] = path
        seconds = probe_duration(path)
        if seconds <= 0:
            report.reject(path, "no samples")
            continue
        out.append(Recording(rid, path.resolve(), rel.parts[0] if len(rel.parts) > 1 else TOP, seconds))
    return out


def split_recordings(recs: List[Recording], test_fraction: float, seed: int) -> Dict[str, List[Recording]]:
    """Per group: a seeded shuffle, then ``round(n * test_fraction)`` (at least 1, at most n-1) to test."""
    groups: Dict[str, List[Recording]] = defaultdict(list)
    for rec in sorted(recs, key=lambda r: r.rid):
        groups[rec.group].append(rec)
    out: Dict[str, List[Recording]] = {"train": [], "test": []}
    for group, members in sorted(groups.items()):
        n_test = 0
        if test_fraction > 0:
            if len(members) < 2:
                logger.warning("noise subfolder '%s' has one recording: it goes to train only", group)
            else:
                n_test = min(max(int(round(len(members) * test_fraction)), 1), len(members) - 1)
        order = stable_rng(seed, group, 2).permutation(len(members))
        out["test"] += [members[i] for i in order[:n_test]]
        out["train"] += [members[i] for i in order[n_test:]]
    return out


def _clear(dst: Path) -> None:
    for name in ALL_TABLES + (HELD_OUT,):  # nothing of an earlier run may survive
        if (dst / name).is_file():
            (dst / name).unlink()


def _write_split(dst: Path, recs: List[Recording], held_out: bool) -> None:
    ensure_dir(dst)
    _clear(dst)
    utt2spk = {r.rid: r.rid for r in recs}
    write_table(dst / "wav.scp", {r.rid: str(r.path) for r in recs})
    write_table(dst / "utt2spk", utt2spk)
    write_table(dst / "spk2utt", invert_multimap(utt2spk))
    write_table(dst / "utt2dur", {r.rid: f"{r.seconds:.3f}" for r in recs})
    if held_out:
        atomic_write_text(
            dst / HELD_OUT, "held-out noise for robustness tests: never use it (or data made with it) in training\n"
        )


def prepare_noise_dir(folder: PathLike, dst: PathLike, *, test_fraction: float = 0.3, seed: int = 0) -> NoiseDirSummary:
    """Scan ``folder`` recursively and write ``<dst>/train`` and (unless the fraction is 0) ``<dst>/test``."""
    if not 0 <= test_fraction < 1:
        raise SerkitError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    if seed < 0:
        raise SerkitError(f"the seed must be >= 0, got {seed}")
    if not Path(folder).is_dir():
        raise DataDirError(f"noise folder '{folder}' is not a directory; pass the folder that holds the recordings")
    report = PrepReport()
    recs = scan(folder, report)
    if not recs:
        raise DataDirError(f"no readable audio under '{folder}'; pass the folder that holds the noise recordings")
    splits = split_recordings(recs, test_fraction, seed)
    dst = ensure_dir(dst)
    summary = NoiseDirSummary(rejected=list(report.rejected))
    for split, members in splits.items():
        if not members:
            if (dst / split).is_dir():
                _clear(dst / split)  # a split of an earlier run must not look current
                logger.info("%s: no %s recordings; removed the tables of an earlier run", dst / split, split)
            continue
        _write_split(dst / split, members, held_out=split == "test")
        for rec in members:
            n, sec = summary.counts.get((split, rec.group), (0, 0.0))
            summary.counts[(split, rec.group)] = (n + 1, sec + rec.seconds)
    atomic_write_text(dst / "rejected.txt", "".join(f"{line}\n" for line in report.rejected))
    return summary
