"""Check a data directory the way Kaldi's validate_data_dir.sh does, with messages that say
which file, which line or key, and what command fixes it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Sequence

from serkit.data.datadir import RECO_TABLES, UTT_TABLES, DataDir
from serkit.data.labels import non_canonical_labels
from serkit.data.table import expand_multimap, first_unsorted
from serkit.errors import DataDirError, SerkitError

FIX = "run 'utils/fix_data_dir.sh {dir}' to keep only utterances present everywhere"


@dataclass
class Report:
    directory: str
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_if_bad(self) -> None:
        if self.errors:
            lines = "\n  ".join(self.errors)
            raise DataDirError(f"{self.directory} is not a valid data directory:\n  {lines}")


def _sample(keys: Iterable[str], n: int = 3) -> str:
    keys = list(keys)
    shown = ", ".join(f"'{k}'" for k in keys[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


def _compare_keys(report: Report, name: str, keys: Sequence[str], expected: set, what: str, fix: str) -> None:
    have = set(keys)
    missing = sorted(expected - have)
    extra = sorted(have - expected)
    if missing:
        report.errors.append(f"{name}: {len(missing)} utterances of utt2spk have no {what}: {_sample(missing)}; {fix}")
    if extra:
        report.errors.append(f"{name}: {len(extra)} keys not in utt2spk: {_sample(extra)}; {fix}")


def _check_numeric(report: Report, d: DataDir, name: str, integer: bool) -> None:
    table = d.table(name)
    for key, value in table.items():
        try:
            number = int(value) if integer else float(value)
            if number <= 0:
                raise ValueError
        except ValueError:
            kind = "a positive integer" if integer else "a positive number"
            report.errors.append(f"{table.where(key)}: '{key}' has value '{value}', expected {kind}")
            return


def validate_data_dir(path, *, require_emo: bool = True, check_feats: bool = True) -> Report:
    """Validate ``path``; return a :class:`Report` (errors make the directory unusable)."""
    report = Report(str(path))
    try:
        d = DataDir(path)
        _validate(d, report, require_emo=require_emo, check_feats=check_feats)
    except SerkitError as err:  # unreadable table: report it, it stops the other checks
        report.errors.append(str(err))
    return report


def _validate(d: DataDir, report: Report, *, require_emo: bool, check_feats: bool) -> None:
    fix = FIX.format(dir=d.path)
    if not d.has("utt2spk"):
        report.errors.append(f"{d.file('utt2spk')}: missing; every data directory needs '<utt> <speaker>' lines")
        return
    if not d.has("wav.scp") and not d.has("feats.scp"):
        report.errors.append(f"{d.path}: has neither wav.scp nor feats.scp; nothing to read audio or features from")
    for name in d.tables():
        table = d.table(name)  # parses: raises with file:line on a malformed line
        pair = first_unsorted(table)
        if pair:
            line = table.line_of[pair[1]]
            report.errors.append(
                f"{table.where(pair[1])}: not sorted ('{pair[1]}' at line {line} sorts before '{pair[0]}'); "
                f"sort with 'LC_ALL=C sort -k1,1' or run 'utils/fix_data_dir.sh {d.path}'"
            )
    utt2spk = d.table("utt2spk")
    utts = set(utt2spk)
    if not utts:
        report.errors.append(f"{utt2spk.path}: empty; the directory holds no utterances")
        return
    _check_speakers(d, report, utt2spk)
    required = ["utt2emo"] if require_emo else []
    for name in UTT_TABLES[1:]:
        if name == "feats.scp" and not check_feats:
            continue
        if d.has(name) or name in required:
            if not d.has(name):
                report.errors.append(f"{d.file(name)}: missing; it must give a label for every utterance")
                continue
            what = "label" if name == "utt2emo" else "entry"
            _compare_keys(report, str(d.file(name)), list(d.table(name)), utts, what, fix)
    if d.has("utt2emo"):
        emos = sorted(set(d.table("utt2emo").values()))
        if any(len(e.split()) != 1 for e in emos):
            report.errors.append(f"{d.file('utt2emo')}: labels must be single tokens, got {_sample(emos)}")
        if len(emos) < 2:
            report.warnings.append(f"{d.file('utt2emo')}: only one emotion label ({_sample(emos)})")
        report.warnings.extend(non_canonical_labels(d.table("utt2emo"), d.table("utt2emo").where))
    _check_recordings(d, report, utts, fix)
    for name, integer in (("utt2dur", False), ("utt2num_frames", True)):
        if d.has(name):
            _check_numeric(report, d, name, integer)
    if d.has("cmvn.scp"):
        missing = sorted(set(utt2spk.values()) - set(d.table("cmvn.scp")))
        if missing:
            report.errors.append(
                f"{d.file('cmvn.scp')}: no stats for {len(missing)} speakers ({_sample(missing)}); "
                f"rerun 'utils/compute_cmvn_stats.sh {d.path}'"
            )


def _check_speakers(d: DataDir, report: Report, utt2spk) -> None:
    bad_prefix = [u for u, s in utt2spk.items() if not u.startswith(s)]
    if bad_prefix:
        report.warnings.append(
            f"{utt2spk.path}: {len(bad_prefix)} utterance ids do not start with their speaker id "
            f"({_sample(bad_prefix)}); Kaldi recommends it so that utt2spk and spk2utt sort alike"
        )
    if not d.has("spk2utt"):
        report.errors.append(
            f"{d.file('spk2utt')}: missing; create it with "
            f"'utils/utt2spk_to_spk2utt.pl {d.file('utt2spk')} > {d.file('spk2utt')}'"
        )
        return
    try:
        from_spk2utt = expand_multimap(d.table("spk2utt"))
    except SerkitError as err:
        report.errors.append(f"{d.file('spk2utt')}: {err}")
        return
    if from_spk2utt != dict(utt2spk):
        report.errors.append(
            f"{d.file('spk2utt')}: does not match utt2spk; regenerate it with "
            f"'utils/utt2spk_to_spk2utt.pl {d.file('utt2spk')} > {d.file('spk2utt')}'"
        )


def _check_recordings(d: DataDir, report: Report, utts: set, fix: str) -> None:
    if not d.has("wav.scp"):
        return
    recos = set(d.table("wav.scp"))
    segments = d.segments()
    if segments is None:
        _compare_keys(report, str(d.file("wav.scp")), list(recos), utts, "audio", fix)
        return
    needed = {seg.recording for seg in segments.values()}
    missing = sorted(needed - recos)
    if missing:
        report.errors.append(
            f"{d.file('segments')}: {len(missing)} recordings have no wav.scp entry: {_sample(missing)}; {fix}"
        )
    unused = sorted(recos - needed)
    if unused:
        report.warnings.append(f"{d.file('wav.scp')}: {len(unused)} recordings have no segment: {_sample(unused)}")
    for name in RECO_TABLES[1:]:
        if d.has(name):
            extra = sorted(set(d.table(name)) - recos)
            if extra:
                report.errors.append(f"{d.file(name)}: keys not in wav.scp: {_sample(extra)}")
