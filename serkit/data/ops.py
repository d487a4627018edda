"""Operations on data directories: fix, subset, copy (with prefixes), combine, split.

All of them go through one projection: choose utterances, optionally rename utterances and
speakers, and carry every known table along, so no operation can forget a table.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from serkit.data.datadir import RECO_TABLES, SPK_TABLES, UTT_TABLES, DataDir, ensure_dir, is_same_dir
from serkit.data.table import PathLike, invert_multimap, write_table
from serkit.errors import DataDirError

logger = logging.getLogger(__name__)

Tables = Dict[str, Dict[str, str]]
_identity: Callable[[str], str] = lambda key: key  # noqa: E731


def project(
    d: DataDir,
    utts: Iterable[str],
    utt_name: Callable[[str], str] = _identity,
    spk_name: Callable[[str], str] = _identity,
) -> Tables:
    """Every table of ``d`` restricted to ``utts``, with utterances/speakers renamed."""
    keep = list(utts)
    utt2spk = d.table("utt2spk")
    out: Tables = {}
    segments = d.optional("segments")
    for name in UTT_TABLES:
        if not d.has(name):
            continue
        table = d.table(name)
        if name == "utt2spk":
            out[name] = {utt_name(u): spk_name(utt2spk[u]) for u in keep}
        else:
            out[name] = {utt_name(u): table[u] for u in keep if u in table}
    if segments is not None:
        recos = {segments.fields(u)[0] for u in keep if u in segments}
        reco_name = _identity
    else:
        recos = set(keep)
        reco_name = utt_name
    for name in RECO_TABLES:
        if d.has(name):
            table = d.table(name)
            out[name] = {reco_name(r): v for r, v in table.items() if r in recos}
    speakers = {utt2spk[u] for u in keep}
    for name in SPK_TABLES:
        if name != "spk2utt" and d.has(name):
            out[name] = {spk_name(s): v for s, v in d.table(name).items() if s in speakers}
    return out


# Plain one-line files that describe the whole directory (not key tables): carried when all
# sources agree; HELD_OUT (noise kept for testing, see prepare_noise_dir) when any source has it.
PLAIN_FILES = ("feats_type", "feats_config.yaml")
HELD_OUT = "HELD_OUT"


def write_tables(dst: PathLike, tables: Tables, sources: Sequence[DataDir] = ()) -> None:
    """Write tables (sorted) and a matching spk2utt into ``dst``; carry the plain files that
    all ``sources`` agree on."""
    dst = ensure_dir(dst)
    for name, table in tables.items():
        write_table(dst / name, table)
    write_table(dst / "spk2utt", invert_multimap(tables["utt2spk"]))
    for name in PLAIN_FILES:
        values = {(d.path / name).read_text() if (d.path / name).is_file() else None for d in sources}
        if len(values) == 1 and None not in values:
            (dst / name).write_text(values.pop())
        elif sources and values != {None}:
            logger.warning("%s differs between the sources (or is missing in some); not writing it", name)
    marked = [d for d in sources if (d.path / HELD_OUT).is_file()]
    if marked:
        (dst / HELD_OUT).write_text((marked[0].path / HELD_OUT).read_text())


def _check_dst(src: PathLike, dst: PathLike) -> None:
    if is_same_dir(src, dst):
        raise DataDirError(f"source and destination are the same directory ({dst}); choose another destination")


@dataclass
class FixSummary:
    kept: int
    total: int
    missing_from: Dict[str, int] = field(default_factory=dict)
    backup: Optional[str] = None

    def __str__(self) -> str:
        if self.kept == self.total:
            return f"kept all {self.total} utterances"
        reasons = ", ".join(f"{n} not in {name}" for name, n in self.missing_from.items() if n)
        return f"kept {self.kept} of {self.total} utterances; dropped {self.total - self.kept} ({reasons})"


def _new_backup_dir(path: Path) -> Path:
    """``.backup``, or the first free ``.backup.<n>`` (n >= 2) when an earlier run made it."""
    backup, n = path / ".backup", 1
    while backup.exists():
        n += 1
        backup = path / f".backup.{n}"
    return ensure_dir(backup)


def fix_data_dir(path: PathLike) -> FixSummary:
    """Keep only utterances present in every table, sort everything, regenerate spk2utt.

    The tables as they were are kept in ``<dir>/.backup/`` (the first run), then ``.backup.2``,
    ``.backup.3``...: a second run never overwrites the originals. Like Kaldi's fix_data_dir.sh this is the
    tool for a counted, logged skip of utterances that lost their audio, features or label.
    """
    d = DataDir(path)
    utt2spk = d.table("utt2spk")
    total = len(utt2spk)
    present = {name: set(d.table(name)) for name in UTT_TABLES if name != "utt2spk" and d.has(name)}
    segments = d.segments()
    wav = set(d.table("wav.scp")) if d.has("wav.scp") else None
    if wav is not None:
        present["wav.scp"] = (
            set(wav) if segments is None else {u for u, seg in segments.items() if seg.recording in wav}
        )
    keep = [u for u in sorted(utt2spk) if all(u in keys for keys in present.values())]
    summary = FixSummary(len(keep), total, {n: len(set(utt2spk) - keys) for n, keys in present.items()})
    backup = _new_backup_dir(d.path)
    for name in d.tables():
        shutil.copy2(d.file(name), backup / name)
    summary.backup = str(backup)
    tables = project(d, keep)
    write_tables(d.path, tables, [d])
    if summary.kept < total:
        logger.warning("fix_data_dir %s: %s; originals in %s", d.path, summary, backup)
    return summary


def subset_data_dir(
    src: PathLike, dst: PathLike, *, utts: Optional[Sequence[str]] = None, spks: Optional[Sequence[str]] = None
) -> int:
    """Copy the utterances in ``utts`` (or of the speakers in ``spks``) to ``dst``; returns the count."""
    _check_dst(src, dst)
    d = DataDir(src)
    utt2spk = d.table("utt2spk")
    if (utts is None) == (spks is None):
        raise DataDirError("subset_data_dir: give exactly one of an utterance list or a speaker list")
    wanted = set(utts if utts is not None else spks)
    unknown = sorted(wanted - (set(utt2spk) if utts is not None else set(utt2spk.values())))
    if unknown:
        kind = "utterances" if utts is not None else "speakers"
        logger.warning("subset_data_dir: %d %s of the list are not in %s (e.g. %s)", len(unknown), kind, src, unknown[0])
    keep = [u for u in utt2spk if (u if utts is not None else utt2spk[u]) in wanted]
    if not keep:
        raise DataDirError(f"subset_data_dir: none of the listed ids is in {src}; check the list")
    write_tables(dst, project(d, keep), [d])
    return len(keep)


def copy_data_dir(
    src: PathLike, dst: PathLike, *, utt_prefix: str = "", spk_prefix: str = "", utt_suffix: str = "",
    spk_suffix: str = "",
) -> None:
    """Copy ``src`` to ``dst`` renaming utterances and speakers (Kaldi's copy_data_dir.sh)."""
    _check_dst(src, dst)
    d = DataDir(src)
    tables = project(
        d, d.utts, lambda u: f"{utt_prefix}{u}{utt_suffix}", lambda s: f"{spk_prefix}{s}{spk_suffix}"
    )
    write_tables(dst, tables, [d])


def combine_data(dst: PathLike, srcs: Sequence[PathLike]) -> None:
    """Merge data directories; utterance ids must be distinct across sources."""
    if not srcs:
        raise DataDirError("combine_data: no source directories given")
    dirs = [DataDir(s) for s in srcs]
    for s in srcs:
        _check_dst(s, dst)
    owner: Dict[str, Path] = {}
    merged: Tables = {}
    names = set.union(*(set(d.tables()) for d in dirs)) - {"spk2utt"}
    for d in dirs:
        for utt in d.utts:
            if utt in owner:
                raise DataDirError(
                    f"combine_data: utterance '{utt}' is in both {owner[utt]} and {d.path}; give one of them "
                    f"distinct ids with 'utils/copy_data_dir.sh --utt-prefix ...'"
                )
            owner[utt] = d.path
        tables = project(d, d.utts)
        if "segments" in names and "segments" not in tables:
            tables["segments"] = {u: f"{u} 0 -1" for u in d.utts}  # whole recording
        for name, table in tables.items():
            merged.setdefault(name, {}).update(table)
    for name in sorted(names):
        holders = [d for d in dirs if d.has(name)]
        if len(holders) < len(dirs) and name not in ("segments",):
            logger.warning("combine_data: %s is not in every source; not writing it", name)
            merged.pop(name, None)
    if "cmvn.scp" in merged:
        speakers = [set(d.table("utt2spk").values()) for d in dirs]
        if sum(len(s) for s in speakers) != len(set().union(*speakers)):
            # a speaker in two sources: its stats would cover only one of them
            logger.warning("combine_data: speakers shared between sources; not combining cmvn.scp, recompute it "
                           "with utils/compute_cmvn_stats.sh")
            merged.pop("cmvn.scp")
    write_tables(dst, merged, dirs)


def split_data(src: PathLike, num_jobs: int, *, per_utt: bool = True) -> List[Path]:
    """Split into ``<src>/split<N>[utt]/<k>`` (k = 1..N); by speaker unless ``per_utt``."""
    d = DataDir(src)
    utt2spk = d.table("utt2spk")
    units: List[List[str]]
    if per_utt:
        units = [[u] for u in utt2spk]
    else:
        groups: Dict[str, List[str]] = {}
        for u, s in utt2spk.items():
            groups.setdefault(s, []).append(u)
        units = list(groups.values())
    if num_jobs < 1 or num_jobs > len(units):
        what = "utterances" if per_utt else "speakers"
        raise DataDirError(f"split_data: cannot split {len(units)} {what} of {src} into {num_jobs} parts")
    out_root = d.path / f"split{num_jobs}{'utt' if per_utt else ''}"
    bounds = [round(len(units) * k / num_jobs) for k in range(num_jobs + 1)]
    parts: List[Path] = []
    for k in range(num_jobs):
        keep = [u for unit in units[bounds[k]:bounds[k + 1]] for u in unit]
        parts.append(out_root / str(k + 1))
        write_tables(parts[-1], project(d, keep), [d])
    return parts
