"""The batch pipeline: a chain of small generator stages over dicts.

    order -> crop -> add_reverb -> add_noise -> spec_augment [-> drop_text] -> bucket -> (this rank's slice) -> collate

Each stage takes and yields plain items (``{"utt", "feats", "label"}``, plus ``"tokens"`` when the
examples were tokenized with :func:`tokenized`, and ``"clean"`` when :func:`clean_partners` gave each
item the features of its clean version: cropped and masked like ``"feats"``, never mixed with noise
or reverberated), so each can be tested alone. All
randomness comes from one ``numpy.random.Generator`` per epoch, seeded from (seed, epoch), so a
resumed run sees the same batches it would have seen; text dropout has a generator of its own,
so the audio side of a text model's batches is the audio model's.
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from serkit.loader.config import CORPUS_BALANCE, DataConfig, NoiseConfig, ReverbConfig, SpecAugmentConfig
from serkit.loader.examples import Example
from serkit.text.tokenizer import PAD_ID, Tokenizer

Item = Dict[str, object]


@dataclass
class Batch:
    feats: torch.Tensor  # [B, T, F], zero-padded
    lengths: torch.Tensor  # [B]
    labels: torch.Tensor  # [B]
    utts: List[str]
    tokens: Optional[torch.Tensor] = None  # [B, L] int64, padded with 0 (L >= 1); None without text
    token_lengths: Optional[torch.Tensor] = None  # [B]; 0 = no transcript
    clean: Optional[torch.Tensor] = None  # [B, T, F]: each item's clean version (train.consistency); else None

    def to(self, device) -> "Batch":
        move = (lambda t: t.to(device) if t is not None else None)
        return Batch(self.feats.to(device), self.lengths.to(device), self.labels.to(device), self.utts,
                     move(self.tokens), move(self.token_lengths), move(self.clean))


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch])


def epoch_order(labels: Sequence[int], balance: str, rng: np.random.Generator,
                corpora: Optional[Sequence[str]] = None) -> np.ndarray:
    """Indices of one epoch: a permutation, or a balanced draw with replacement (as many draws as
    examples). ``sampler``: each class an equal share; ``corpus``: each corpus (``corpora``, one
    name per example) an equal share; ``corpus_class``: each corpus an equal share, and within it
    each of its classes."""
    n = len(labels)
    if balance != "sampler" and balance not in CORPUS_BALANCE:
        return rng.permutation(n)
    if balance == "sampler":
        groups = [(label,) for label in labels]
    elif corpora is None:
        raise ValueError(f"balance '{balance}' needs the corpus of every example")
    elif balance == "corpus":
        groups = [(c,) for c in corpora]
    else:
        groups = list(zip(corpora, labels))
    count = Counter(groups)
    if balance == "corpus_class":  # a corpus's share split evenly over its classes
        per_corpus = Counter(c for c, _ in count)
        p = np.array([1.0 / (per_corpus[g[0]] * count[g]) for g in groups])
    else:
        p = np.array([1.0 / count[g] for g in groups])
    return rng.choice(n, size=n, replace=True, p=p / p.sum())


def tokenized(examples: Sequence[Example], tokenizer: Tokenizer) -> Tuple[List[Example], int]:
    """Copies of the examples with their token ids (empty without a transcript), and how many
    have none; the examples given are left as they are."""
    out = [dataclasses.replace(ex, tokens=tokenizer.encode(ex.text)) for ex in examples]
    return out, sum(len(ex.tokens) == 0 for ex in out)


def clean_partners(examples: Sequence[Example]) -> Tuple[List[int], int]:
    """For each example, the index of its clean version: the example of its ``source`` (an
    augmented copy's original, from utt2source) when that is loaded and has as many frames (a noisy
    copy; not a speed-perturbed one), else itself. Also how many examples got a partner."""
    index = {ex.utt: i for i, ex in enumerate(examples)}
    partners, paired = [], 0
    for i, ex in enumerate(examples):
        j = index.get(ex.source, i) if ex.source else i
        if j != i and examples[j].feats.shape != ex.feats.shape:
            j = i
        paired += j != i
        partners.append(j)
    return partners, paired


def items(examples: Sequence[Example], order: Iterable[int], partners: Optional[Sequence[int]] = None) -> Iterator[Item]:
    for i in order:
        ex = examples[i]
        item = {"utt": ex.utt, "feats": ex.feats, "label": ex.label, "cmvn": ex.cmvn}
        if ex.tokens is not None:
            item["tokens"] = ex.tokens
        if partners is not None:
            item["clean"] = examples[partners[i]].feats
        yield item


def crop(stream: Iterable[Item], max_frames: int, rng: np.random.Generator) -> Iterator[Item]:
    """A random ``max_frames`` window of longer utterances (training); 0 disables."""
    for item in stream:
        feats = item["feats"]
        if max_frames and len(feats) > max_frames:
            start = int(rng.integers(0, len(feats) - max_frames + 1))
            item = dict(item, feats=feats[start: start + max_frames])
            if "clean" in item:  # the same window of the clean version
                item["clean"] = item["clean"][start: start + max_frames]
        yield item


def mix_log_power(feats: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add noise to log-power features: powers add (phase cross-terms average out), with the
    noise scaled so that mean speech power / mean noise power is ``snr_db``."""
    speech_power = np.exp(feats.astype(np.float64)).sum(axis=1).mean()
    noise_power = np.exp(noise.astype(np.float64)).sum(axis=1).mean()
    gain = speech_power / (noise_power * 10.0 ** (snr_db / 10.0))
    return np.log(np.exp(feats.astype(np.float64)) + gain * np.exp(noise.astype(np.float64))).astype(np.float32)


def renormalize(raw: np.ndarray, mixed: np.ndarray, cmvn, follow: bool) -> np.ndarray:
    """``mixed`` (raw log-power features after noise or reverberation) normalised with the item's
    CMVN statistics ``(mean, std)``; with ``follow``, statistics moved by what the mixing did to
    this crop (mean shifted, std scaled per channel), as if computed on the mixed speech."""
    mean, std = cmvn if cmvn is not None else (0.0, 1.0)
    if follow and cmvn is not None:
        mean = mean + (mixed.mean(axis=0) - raw.mean(axis=0))
        ratio = mixed.std(axis=0) / np.maximum(raw.std(axis=0), 1e-3)
        std = std * np.clip(ratio, 0.1, 10.0)
    return ((mixed - mean) / std).astype(np.float32)


def add_noise(stream: Iterable[Item], bank: Sequence[np.ndarray], config: NoiseConfig, rng: np.random.Generator) -> Iterator[Item]:
    """Mix a random stretch of a random noise recording into a share of the items (before the
    items' CMVN: undone, mixed, redone with the same statistics)."""
    for item in stream:
        if not bank or rng.random() >= config.prob:
            yield item
            continue
        noise = bank[int(rng.integers(len(bank)))]
        frames = len(item["feats"])
        reps = -(-frames // len(noise)) + 1
        start = int(rng.integers(len(noise)))
        segment = np.tile(noise, (reps, 1))[start: start + frames]
        snr = float(config.snrs[int(rng.integers(len(config.snrs)))])
        mean, std = item["cmvn"] if item.get("cmvn") is not None else (0.0, 1.0)
        raw = item["feats"] * std + mean
        mixed = mix_log_power(raw, segment, snr)
        yield dict(item, feats=renormalize(raw, mixed, item.get("cmvn"), config.follow_cmvn))


def reverb_log_power(feats: np.ndarray, rt60: float, drr_db: float, frame_shift_s: float) -> np.ndarray:
    """Log-power features with an exponential reverberant tail (see :class:`ReverbConfig`)."""
    from scipy.signal import lfilter

    rho = math.exp(-math.log(1e6) * frame_shift_s / rt60)  # 60 dB of energy decay over rt60
    gain = 10.0 ** (-drr_db / 10.0) * (1.0 - rho) / rho  # sum over the tail = 10^(-DRR/10)
    power = np.exp(feats.astype(np.float64))
    tail = lfilter([0.0, gain * rho], [1.0, -rho], power, axis=0)
    return np.log(power + tail).astype(np.float32)


def add_reverb(stream: Iterable[Item], config: ReverbConfig, rng: np.random.Generator) -> Iterator[Item]:
    """Reverberate a share of the items (before their CMVN: undone, reverberated, redone)."""
    for item in stream:
        if rng.random() >= config.prob:
            yield item
            continue
        rt60 = float(config.rt60s[int(rng.integers(len(config.rt60s)))])
        drr = float(rng.uniform(config.drr_db[0], config.drr_db[1]))
        mean, std = item["cmvn"] if item.get("cmvn") is not None else (0.0, 1.0)
        raw = item["feats"] * std + mean
        mixed = reverb_log_power(raw, rt60, drr, config.frame_shift / 1000)
        yield dict(item, feats=renormalize(raw, mixed, item.get("cmvn"), config.follow_cmvn))


def spec_augment(stream: Iterable[Item], config: SpecAugmentConfig, rng: np.random.Generator) -> Iterator[Item]:
    """Zero random frequency bands and time spans (features are mean-normalised, so 0 = mean)."""
    for item in stream:
        if not config.enabled:
            yield item
            continue
        feats = np.array(item["feats"], copy=True)
        clean = np.array(item["clean"], copy=True) if "clean" in item else feats[:0]  # same masks as feats
        frames, bins = feats.shape
        bins = min(bins, config.max_bin) if config.max_bin else bins
        for _ in range(config.freq_masks):
            width = int(rng.integers(0, min(config.freq_width, bins) + 1))
            start = int(rng.integers(0, bins - width + 1))
            feats[:, start: start + width] = 0.0
            clean[:, start: start + width] = 0.0
        for _ in range(config.time_masks):
            width = int(rng.integers(0, min(config.time_width, frames // 4) + 1))
            start = int(rng.integers(0, frames - width + 1))
            feats[start: start + width, :] = 0.0
            clean[start: start + width, :] = 0.0
        yield dict(item, feats=feats, **({"clean": clean} if "clean" in item else {}))


def drop_text(stream: Iterable[Item], prob: float, rng: np.random.Generator) -> Iterator[Item]:
    """Hide the transcript of a share ``prob`` of the items (modality dropout): the model learns
    its "no text" input, and fusion models learn not to lean on the words alone."""
    for item in stream:
        if prob > 0 and "tokens" in item and rng.random() < prob:
            item = dict(item, tokens=np.zeros(0, dtype=np.int64))
        yield item


def bucket(stream: Iterable[Item], batch_size: int, bucket_size: int) -> Iterator[List[Item]]:
    """Batches of similar length: sort each run of ``batch_size * bucket_size`` items by length."""
    pool: List[Item] = []

    def flush():
        pool.sort(key=lambda it: len(it["feats"]))
        for k in range(0, len(pool), batch_size):
            yield pool[k: k + batch_size]

    for item in stream:
        pool.append(item)
        if len(pool) == batch_size * bucket_size:
            yield from flush()
            pool = []
    if pool:
        yield from flush()


def collate(batch: Sequence[Item]) -> Batch:
    lengths = [len(it["feats"]) for it in batch]
    dim = batch[0]["feats"].shape[1]
    feats = np.zeros((len(batch), max(lengths), dim), dtype=np.float32)
    clean = np.zeros_like(feats) if "clean" in batch[0] else None
    for i, it in enumerate(batch):
        feats[i, : lengths[i]] = it["feats"]
        if clean is not None:
            clean[i, : lengths[i]] = it["clean"]
    tokens = token_lengths = None
    if "tokens" in batch[0]:
        if not all("tokens" in it for it in batch):
            raise ValueError("collate: some items have tokens and some not; tokenize every example")
        token_lengths = [len(it["tokens"]) for it in batch]
        padded = np.full((len(batch), max(1, max(token_lengths))), PAD_ID, dtype=np.int64)
        for i, it in enumerate(batch):
            padded[i, : token_lengths[i]] = it["tokens"]
        tokens, token_lengths = torch.from_numpy(padded), torch.tensor(token_lengths, dtype=torch.long)
    return Batch(
        torch.from_numpy(feats),
        torch.tensor(lengths, dtype=torch.long),
        torch.tensor([int(it["label"]) for it in batch], dtype=torch.long),
        [str(it["utt"]) for it in batch],
        tokens,
        token_lengths,
        torch.from_numpy(clean) if clean is not None else None,
    )


def train_batches(
    examples: Sequence[Example], config: DataConfig, seed: int, epoch: int, rank: int = 0, world: int = 1,
    noise_bank: Sequence[np.ndarray] = (), partners: Optional[Sequence[int]] = None,
) -> List[Batch]:
    """This rank's training batches of one epoch; with ``partners`` (:func:`clean_partners`), each
    batch also holds every item's clean version (``Batch.clean``).

    Every rank builds the same global batches (same seed) and keeps its slice ``[rank::world]``
    of each, so ``batch_size`` means the same with any number of processes and gradient averaging
    across ranks reproduces single-process training up to BatchNorm statistics.
    """
    rng = epoch_rng(seed, epoch)
    corpora = [ex.corpus for ex in examples] if config.balance in CORPUS_BALANCE else None
    order = epoch_order([ex.label for ex in examples], config.balance, rng, corpora)
    stream = crop(items(examples, order, partners), config.max_frames, rng)
    if config.reverb.enabled:
        stream = add_reverb(stream, config.reverb, np.random.default_rng([seed, epoch, 65537]))
    if config.noise.enabled:
        stream = add_noise(stream, noise_bank, config.noise, rng)
    stream = spec_augment(stream, config.spec_augment, rng)
    if config.text.enabled and config.text.drop_prob > 0:
        stream = drop_text(stream, config.text.drop_prob, np.random.default_rng([seed, epoch, 31337]))
    batches = list(bucket(stream, config.batch_size, config.bucket_size))
    shuffle = np.random.default_rng([seed, epoch, 7919]).permutation(len(batches))
    return [collate(batches[i][rank::world]) for i in shuffle if len(batches[i]) >= world]


def eval_batches(examples: Sequence[Example], batch_size: int) -> Iterator[Batch]:
    """Whole utterances, sorted by length so padding stays small."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].feats))
    for k in range(0, len(order), batch_size):
        yield collate(list(items(examples, order[k: k + batch_size])))
