"""Augmented copies of Kaldi data directories: the perturbation happens when the audio is read.

Like Kaldi's perturb_data_dir_speed.sh and augment_data_dir.py, nothing is written but tables:
each wav.scp entry becomes a pipe through ``python -m serkit.bin.wav_perturb`` holding every
choice (speed factor, noise file, offset, SNR, RIR), so an entry is inspectable and reproducible
on its own, and serkit reads it in-process (serkit.data.audio.read_raw). Utterance and speaker
ids get a prefix (a perturbed voice counts as another speaker for per-speaker CMVN); features,
CMVN stats and frame counts are not copied: they must be computed on the new audio.
``<dst>/utt2aug`` says in words what was done to each utterance.
"""
from __future__ import annotations

import hashlib
import logging
import math
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from serkit.augment import perturb
from serkit.augment.perturb import WAV_PERTURB, num
from serkit.data.audio import DEFAULT_SAMPLE_RATE, load_audio
from serkit.data.corpus import probe_duration
from serkit.data.datadir import ALL_TABLES, RECO_TABLES, DataDir, ensure_dir
from serkit.data.ops import Tables, project, write_tables
from serkit.data.table import PathLike, read_table, write_table
from serkit.errors import DataDirError, SerkitError
from serkit.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

# Derived from the audio: stale in a perturbed copy.
NOT_COPIED = ("feats.scp", "cmvn.scp", "utt2num_frames")
# Marks noise (and data made with it) held out for robustness tests: never train on it.
HELD_OUT = "HELD_OUT"
UTT2AUG = "utt2aug"


def speed_tag(factor: float) -> str:
    """Kaldi's spelling of a speed factor in ids: sp0.9, sp1.0, sp1.1."""
    text = f"{factor:g}"
    return f"sp{text if '.' in text else text + '.0'}"


def stable_rng(seed: int, key: str, stream: int) -> np.random.Generator:
    """A generator that depends only on (seed, key, stream): not on order, process or Python hash."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, stream, digest])


def perturb_entry(entry: str, options: List[str]) -> str:
    """The wav.scp entry that reads ``entry`` through ``wav_perturb OPTIONS``.

    A file becomes ``python -m serkit.bin.wav_perturb OPTIONS <file> - |``; a pipe gets the
    perturbation chained after it (``<cmd> | python -m ... OPTIONS - - |``), except that a
    single wav_perturb command whose stages all come earlier is extended in place.
    """
    entry = entry.strip()
    if entry.endswith("|"):
        merged = perturb.merged(entry[:-1].strip(), options)
        if merged is not None:
            return merged
        return f"{entry} {WAV_PERTURB} {shlex.join(options)} - - |"
    return f"{WAV_PERTURB} {shlex.join(options + [entry, '-'])} |"


def _prepare_dst(src: PathLike, dst: PathLike) -> Path:
    if Path(src).resolve() == Path(dst).resolve():
        raise DataDirError(f"source and destination are the same directory ({dst}); choose another destination")
    dst = ensure_dir(dst)
    stale = [n for n in dict.fromkeys(ALL_TABLES + (UTT2AUG, HELD_OUT)) if (dst / n).is_file()]
    for name in stale:  # tables of an earlier run would not match the new ones
        (dst / name).unlink()
    if stale:
        logger.info("%s: removed the tables of an earlier run (%s)", dst, " ".join(stale))
    return dst


def _renamed_copy(d: DataDir, prefix: str) -> Tables:
    """All tables of ``d`` with utterances, speakers and recordings prefixed; derived ones dropped."""
    if not prefix or any(c.isspace() for c in prefix):
        raise DataDirError(f"id prefix {prefix!r} must be non-empty and contain no whitespace")
    name = lambda key: f"{prefix}{key}"  # noqa: E731
    if not d.has("wav.scp"):
        raise DataDirError(f"{d.file('wav.scp')}: missing; augmentation perturbs the audio, so it needs wav.scp")
    tables = project(d, d.utts, name, name)
    for table in NOT_COPIED:
        tables.pop(table, None)
    if "segments" in tables:  # project keeps recording ids when there are segments: rename them too
        tables["segments"] = {u: " ".join([name(v.split()[0])] + v.split()[1:]) for u, v in tables["segments"].items()}
        for table in RECO_TABLES:
            if table in tables:
                tables[table] = {name(r): v for r, v in tables[table].items()}
    return tables


def _finish(d: DataDir, dst: Path, tables: Tables, prefix: str, done: Dict[str, str], held_out: str = "") -> None:
    """Write ``tables``, utt2aug (earlier augmentations of the source first) and the held-out mark."""
    old = read_table(d.file(UTT2AUG)) if d.has(UTT2AUG) else {}
    aug = {f"{prefix}{u}": " ".join(x for x in (old.get(u, ""), done[u]) if x) for u in d.utts}
    write_tables(dst, tables)
    write_table(dst / UTT2AUG, aug)
    if d.has(HELD_OUT):
        held_out = d.file(HELD_OUT).read_text(encoding="utf-8") + held_out
    if held_out:
        atomic_write_text(dst / HELD_OUT, held_out)


def perturb_data_dir_speed(factor: float, src: PathLike, dst: PathLike, sample_rate: Optional[int] = None) -> int:
    """Kaldi's perturb_data_dir_speed.sh: a copy of ``src`` played ``factor`` times faster.

    Ids get ``sp<factor>-``; utt2dur, reco2dur and segment times are divided by ``factor``.
    Returns the number of utterances.
    """
    if not factor > 0 or not math.isfinite(factor):
        raise SerkitError(f"speed factor must be a positive number, got {factor}")
    d = DataDir(src)
    dst = _prepare_dst(src, dst)
    prefix = f"{speed_tag(factor)}-"
    tables = _renamed_copy(d, prefix)
    options = ["--speed", num(factor)] + (["--sample-rate", str(sample_rate)] if sample_rate else [])
    if factor != 1.0:
        tables["wav.scp"] = {r: perturb_entry(v, options) for r, v in tables["wav.scp"].items()}
    for table in ("utt2dur", "reco2dur"):
        if table in tables:
            tables[table] = {k: f"{float(v) / factor:.3f}" for k, v in tables[table].items()}
    if "segments" in tables:
        tables["segments"] = {u: _scale_segment(v, factor) for u, v in tables["segments"].items()}
    _finish(d, dst, tables, prefix, {u: f"speed={num(factor)}" for u in d.utts})
    logger.info("perturb_data_dir_speed: %s -> %s (factor %s, %d utterances)", src, dst, num(factor), len(d.utts))
    return len(d.utts)


def _scale_segment(value: str, factor: float) -> str:
    reco, start, end = value.split()
    end_s = end if float(end) < 0 else f"{float(end) / factor:.3f}"
    return f"{reco} {float(start) / factor:.3f} {end_s}"


def recording_durations(d: DataDir) -> Dict[str, float]:
    """Seconds per wav.scp recording: reco2dur, utt2dur (no segments), else probed from the audio."""
    if d.has("reco2dur"):
        return {r: float(v) for r, v in d.table("reco2dur").items()}
    if d.has("utt2dur") and not d.has("segments"):
        return {r: float(v) for r, v in d.table("utt2dur").items()}
    logger.info("%s has no reco2dur/utt2dur: probing %d recordings", d.path, len(d.table("wav.scp")))
    out = {}
    for reco, entry in d.table("wav.scp").items():
        try:
            out[reco] = probe_duration(entry)
        except Exception:  # a pipe, an ark offset, a format sf.info cannot probe: decode it
            samples = load_audio(entry, DEFAULT_SAMPLE_RATE, d.table("wav.scp").where(reco))
            out[reco] = len(samples) / DEFAULT_SAMPLE_RATE
    return out


def _recordings(path: PathLike, what: str) -> Dict[str, str]:
    d = DataDir(path)
    wav = d.table("wav.scp")
    if not wav:
        raise DataDirError(f"{wav.path}: no {what} recordings")
    if d.has(HELD_OUT):
        logger.warning("%s is HELD-OUT %s (for robustness tests): never train on the result", path, what)
    return dict(wav)


def augment_data_dir(
    src: PathLike,
    dst: PathLike,
    *,
    noise_dir: Optional[PathLike] = None,
    snrs: Sequence[float] = (20, 15, 10, 5, 0),
    rir_dir: Optional[PathLike] = None,
    sim_rir: bool = False,
    rt60s: Sequence[float] = (0.3, 0.5, 0.8),
    seed: int = 0,
    prefix: str = "noise",
    sample_rate: Optional[int] = None,
) -> int:
    """A noisy and/or reverberant copy of ``src`` (Kaldi's augment_data_dir.py); ids get ``<prefix>-``.

    Per recording (the wav.scp key), drawn from generators seeded by (``seed``, recording id), so
    the choice does not depend on the order or on the other options: a noise recording of
    ``noise_dir``, an offset into it (within the part that covers the whole utterance when the
    durations are known) and an SNR from ``snrs``; an RIR from ``rir_dir``'s wav.scp or, with
    ``sim_rir``, a simulated one with an RT60 from ``rt60s`` and its own seed. Returns the number
    of utterances.
    """
    if noise_dir is None and rir_dir is None and not sim_rir:
        raise SerkitError("nothing to do: give a noise directory (--noise-dir), an RIR directory (--rir-dir) or --sim-rir true")
    if rir_dir is not None and sim_rir:
        raise SerkitError("give an RIR directory (--rir-dir) or --sim-rir true, not both")
    if seed < 0:
        raise SerkitError(f"the seed must be >= 0, got {seed}")
    if (noise_dir is not None and not snrs) or (sim_rir and not rt60s):
        raise SerkitError("the SNR and RT60 lists must not be empty")
    if sim_rir and min(rt60s) <= 0:
        raise SerkitError(f"RT60s must be positive seconds, got {list(rt60s)}")
    d = DataDir(src)
    noises = _recordings(noise_dir, "noise") if noise_dir is not None else {}
    noise_ids = sorted(noises)
    noise_dur = recording_durations(DataDir(noise_dir)) if noise_dir is not None else {}
    rirs = _recordings(rir_dir, "RIR") if rir_dir is not None else {}
    rir_ids = sorted(rirs)
    dst = _prepare_dst(src, dst)
    tag = f"{prefix}-"
    tables = _renamed_copy(d, tag)
    segments = d.optional("segments")
    speech_dur = d.optional("reco2dur") if segments is not None else d.optional("utt2dur")
    done_reco: Dict[str, str] = {}
    for new_reco, entry in list(tables["wav.scp"].items()):
        reco = new_reco[len(tag):]
        options, words = [], []
        if noise_ids:
            rng = stable_rng(seed, reco, 0)
            noise = noise_ids[int(rng.integers(len(noise_ids)))]
            length = noise_dur.get(noise)
            if length is None:
                raise DataDirError(f"{noise_dir}: no duration for noise recording '{noise}'")
            speech = float(speech_dur[reco]) if speech_dur is not None and reco in speech_dur else 0.0
            offset = float(rng.uniform(0.0, max(length - speech, 0.0)))
            snr = float(snrs[int(rng.integers(len(snrs)))])
            offset = round(offset, 3)
            options += ["--noise", noises[noise], "--noise-offset", num(offset), "--snr", num(snr)]
            words += [f"noise={noise}", f"offset={num(offset)}", f"snr={num(snr)}"]
        if rir_ids or sim_rir:
            rng = stable_rng(seed, reco, 1)
            if rir_ids:
                rir = rir_ids[int(rng.integers(len(rir_ids)))]
                options += ["--rir", rirs[rir]]
                words += [f"rir={rir}"]
            else:
                rt60 = float(rt60s[int(rng.integers(len(rt60s)))])
                rir_seed = int(rng.integers(2**31))
                options += ["--sim-rt60", num(rt60), "--sim-seed", str(rir_seed)]
                words += [f"rir=sim rt60={num(rt60)} rir-seed={rir_seed}"]
        if sample_rate:
            options += ["--sample-rate", str(sample_rate)]
        tables["wav.scp"][new_reco] = perturb_entry(entry, options)
        done_reco[reco] = " ".join(words)
    reco_of = {u: (segments.fields(u)[0] if segments is not None else u) for u in d.utts}
    held_out = "".join(
        f"made with the held-out {what} of {path}: for robustness tests only, never train on it\n"
        for what, path in (("noise", noise_dir), ("RIRs", rir_dir)) if path is not None and DataDir(path).has(HELD_OUT)
    )
    _finish(d, dst, tables, tag, {u: done_reco[reco_of[u]] for u in d.utts}, held_out)
    logger.info("augment_data_dir: %s -> %s (%d utterances)", src, dst, len(d.utts))
    return len(d.utts)
