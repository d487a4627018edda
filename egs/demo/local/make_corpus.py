#!/usr/bin/env python3
"""Synthesize the demo emotional-speech corpus and its Kaldi data directories.

    python local/make_corpus.py [--seed 777] [--emotions neutral,happy,angry,sad] [--num-speakers 10]
        [--num-sentences 6] [--repetitions 2] [--nj 2] [--sample-rate 16000] <corpus-dir> <data-dir>

Writes ``<corpus-dir>/wav/<spk>/<utt>.wav`` (16-bit PCM mono) and ``<data-dir>/{train,dev,test}``
(speaker-independent) with wav.scp, utt2spk, spk2utt, spk2gender, utt2emo, utt2gender, text and
utt2dur. Utterance ids are ``<spk>-<emotion>-s<NN>-r<N>``: sentence template NN (local/transcripts.py)
with its two slots filled per utterance by words that carry some of the emotion; the audio is
rendered from the same words, so ``text`` is what is said. Each utterance's random generators
(one for the words, one for the audio) are derived from (seed, utterance id) alone, so the output
is byte-identical for any ``--nj`` (and for the same seed on the same numpy/scipy build).
Every utterance is scaled to a random RMS level drawn independently of its emotion, so
loudness carries no emotion information.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emotion_profiles as ep  # noqa: E402
import transcripts as tr  # noqa: E402
import voice_synth as vs  # noqa: E402
from serkit.data.table import invert_multimap, write_table  # noqa: E402

logger = logging.getLogger("make_corpus")

LEVEL_DBFS = (-32.0, -20.0)  # RMS level range, drawn per utterance independently of emotion
SNR_DB = (35.0, 50.0)  # noise floor below the speech, idem


class Job(NamedTuple):
    utt: str
    spk: str
    emotion: str
    text: str  # the transcript (local/transcripts.py)
    syllables: str  # what the synthesizer says: the transcript's syllables
    wav: str
    seed: int
    sample_rate: int


def utterance_rng(seed: int, utt: str) -> np.random.Generator:
    """A generator that depends on (seed, utterance id) only: stable across runs, hosts and --nj.
    The transcript's words are drawn from ``utterance_rng(seed, utt + "/text")``."""
    digest = hashlib.sha256(utt.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def synth_one(job: Job) -> Tuple[str, int, float]:
    """Synthesize and write one utterance; return (utt, samples, peak)."""
    spk = next(s for s in ep.SPEAKERS if s.spk_id == job.spk)
    rng = utterance_rng(job.seed, job.utt)
    prosody = ep.draw_prosody(job.emotion, spk, rng)
    y = vs.synthesize(job.syllables, spk, prosody, rng, job.sample_rate)
    y = vs.finish(y, rng, rng.uniform(*LEVEL_DBFS), rng.uniform(*SNR_DB), job.sample_rate)
    if not np.all(np.isfinite(y)):
        raise RuntimeError(f"{job.utt}: synthesis produced non-finite samples (seed {job.seed})")
    peak = float(np.max(np.abs(y)))
    pcm = np.clip(np.round(y * 32767.0), -32767, 32767).astype(np.int16)
    sf.write(job.wav, pcm, job.sample_rate, subtype="PCM_16", format="WAV")
    return job.utt, len(pcm), peak


def make_jobs(args: argparse.Namespace, corpus: Path) -> List[Job]:
    speakers = ep.select_speakers(args.num_speakers)
    emotions = ep.parse_emotions(args.emotions)
    jobs = []
    for spk in speakers:
        (corpus / "wav" / spk.spk_id).mkdir(parents=True, exist_ok=True)
        for emotion in emotions:
            for s in range(args.num_sentences):
                for r in range(1, args.repetitions + 1):
                    utt = f"{spk.spk_id}-{emotion}-s{s + 1:02d}-r{r}"
                    wav = corpus / "wav" / spk.spk_id / f"{utt}.wav"
                    said = tr.draw_transcript(emotion, s, emotions, utterance_rng(args.seed, utt + "/text"))
                    jobs.append(Job(utt, spk.spk_id, emotion, said.text, said.syllables, str(wav), args.seed,
                                    args.sample_rate))
    return jobs


def write_data_dirs(data: Path, jobs: Sequence[Job], samples: Dict[str, int], sr: int,
                    split: Dict[str, List[str]]) -> Dict[str, int]:
    gender = {s.spk_id: s.gender for s in ep.SPEAKERS}
    counts = {}
    for name, spks in split.items():
        d = data / name
        d.mkdir(parents=True, exist_ok=True)
        stale = [f for f in ("feats.scp", "cmvn.scp", "segments", "utt2num_frames", "reco2dur") if (d / f).exists()]
        if stale:
            logger.warning("%s holds %s from an earlier run; they no longer match: remove them", d, ", ".join(stale))
        mine = [j for j in jobs if j.spk in spks]
        utt2spk = {j.utt: j.spk for j in mine}
        write_table(d / "wav.scp", {j.utt: j.wav for j in mine})
        write_table(d / "utt2spk", utt2spk)
        write_table(d / "spk2utt", invert_multimap(utt2spk))
        write_table(d / "spk2gender", {s: gender[s] for s in spks})
        write_table(d / "utt2emo", {j.utt: j.emotion for j in mine})
        write_table(d / "utt2gender", {j.utt: gender[j.spk] for j in mine})
        write_table(d / "text", {j.utt: j.text for j in mine})
        write_table(d / "utt2dur", {j.utt: f"{samples[j.utt] / sr:.3f}" for j in mine})
        counts[name] = len(mine)
    return counts


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seed", type=int, default=777, help="corpus seed (same seed: byte-identical wavs)")
    p.add_argument("--emotions", default=",".join(ep.DEFAULT_EMOTIONS),
                   help=f"comma-separated emotions, from {','.join(ep.EMOTIONS)}")
    p.add_argument("--num-speakers", type=int, default=10, help="even, 2-10: half female, half male")
    p.add_argument("--num-sentences", type=int, default=len(tr.TEMPLATES),
                   help=f"sentence templates per speaker and emotion, 1-{len(tr.TEMPLATES)}")
    p.add_argument("--repetitions", type=int, default=2, help="renditions of each sentence")
    p.add_argument("--nj", type=int, default=2, help="parallel worker processes")
    p.add_argument("--sample-rate", type=int, default=16000, help="Hz")
    p.add_argument("corpus_dir", help="where wav/<spk>/<utt>.wav go")
    p.add_argument("data_dir", help="where the train/dev/test Kaldi data directories go")
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if not 1 <= args.num_sentences <= len(tr.TEMPLATES):
        raise ValueError(f"--num-sentences must be 1-{len(tr.TEMPLATES)}, got {args.num_sentences}")
    if args.repetitions < 1:
        raise ValueError(f"--repetitions must be >= 1, got {args.repetitions}")
    if args.nj < 1:
        raise ValueError(f"--nj must be >= 1, got {args.nj}")
    if not 8000 <= args.sample_rate <= 48000:
        raise ValueError(f"--sample-rate must be 8000-48000 Hz, got {args.sample_rate}")
    corpus = str(Path(args.corpus_dir).resolve())
    if any(ch.isspace() for ch in corpus):
        raise ValueError(f"corpus directory '{corpus}' contains whitespace, which wav.scp cannot hold; pick another")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    try:
        check_args(args)
        corpus, data = Path(args.corpus_dir).resolve(), Path(args.data_dir)
        jobs = make_jobs(args, corpus)
        split = ep.split_speakers(ep.select_speakers(args.num_speakers))
    except (ValueError, OSError) as err:
        print(f"make_corpus.py: error: {err}", file=sys.stderr)
        return 1
    print("speaker split: " + "  ".join(f"{name}={','.join(spks)}" for name, spks in split.items()))
    for name in ("train", "dev", "test"):
        if name not in split:
            stale = " (the existing one is from an earlier run: remove it)" if (data / name).exists() else ""
            logger.warning("no speakers left for '%s' with --num-speakers %d; not writing it%s",
                           name, args.num_speakers, stale)

    start = time.time()
    samples: Dict[str, int] = {}
    max_peak = 0.0
    progress = tqdm(total=len(jobs), desc="synthesizing", unit="utt", mininterval=1.0, disable=None)
    pool = multiprocessing.Pool(min(args.nj, len(jobs))) if args.nj > 1 else None
    try:
        results = pool.imap_unordered(synth_one, jobs, chunksize=4) if pool else map(synth_one, jobs)
        for utt, n, peak in results:
            samples[utt] = n
            max_peak = max(max_peak, peak)
            progress.update()
    finally:
        progress.close()
        if pool is not None:
            pool.terminate()
    if max_peak >= 1.0:
        logger.warning("some samples reached full scale (peak %.3f) and were clipped", max_peak)
    logger.info("synthesized %d utterances in %.1f s (nj=%d); highest peak %.1f dBFS",
                len(jobs), time.time() - start, args.nj, 20 * np.log10(max_peak))

    try:
        counts = write_data_dirs(data, jobs, samples, args.sample_rate, split)
    except OSError as err:
        print(f"make_corpus.py: error: cannot write data directories: {err}", file=sys.stderr)
        return 1
    seconds = sum(samples.values()) / args.sample_rate
    print(f"demo corpus: {len(jobs)} utterances, {seconds / 3600:.3f} h ({seconds:.0f} s) in {corpus}; "
          + ", ".join(f"{name} {n}" for name, n in counts.items()) + f" utterances in {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
