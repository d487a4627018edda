"""Who speaks and how each emotion changes the way they say it (what they say: transcripts.py).

Emotion profiles follow the qualitative tendencies of the vocal-affect literature (Murray &
Arnott 1993; Banse & Scherer 1996; Juslin & Laukka 2003; Gobl & Ni Chasaide 2003):

* angry (hot anger): high F0, wide range, fast, short pauses, strong emphasis, tense voice
  (low open quotient, abrupt closure, flat spectral tilt), more jitter, hyper-articulated;
* happy: high F0, wide range, rising boundary tones, slightly fast, moderately tense;
* sad: low F0, narrow range, slow, long pauses, weak emphasis and fading energy, lax and
  breathy voice (high open quotient, steep tilt, aspiration), reduced articulation;
* fear: very high F0, fast, irregular (jitter, tremor), breathy;
* neutral: moderate everything, falling declination.

Every utterance draws its :class:`Prosody` from overlapping normal distributions, scaled by the
speaker's expressiveness and shifted by the speaker's own habits (rate, range, tilt,
breathiness), so emotions are learnable but not trivially separable. Loudness is deliberately
absent: make_corpus.py sets each utterance's RMS level independently of the emotion.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from voice_synth import Prosody, Speaker

DEFAULT_EMOTIONS = ("neutral", "happy", "angry", "sad")

# Fixed talkers: 5 female, 5 male. Female vocal tracts are ~15-20 % shorter (formants x 1.12-1.22).
SPEAKERS: Tuple[Speaker, ...] = (
    Speaker("f01", "f", 215.0, 1.17, f0_range=1.10, rate=0.95, breathiness=0.04, tilt=0.00, expressiveness=1.10),
    Speaker("f02", "f", 195.0, 1.20, f0_range=0.90, rate=1.05, breathiness=0.07, tilt=0.05, expressiveness=0.90),
    Speaker("f03", "f", 232.0, 1.14, f0_range=1.20, rate=1.00, breathiness=0.02, tilt=-0.05, expressiveness=1.20),
    Speaker("f04", "f", 185.0, 1.22, f0_range=0.85, rate=1.08, breathiness=0.09, tilt=0.05, expressiveness=0.85),
    Speaker("f05", "f", 205.0, 1.12, f0_range=1.00, rate=0.93, breathiness=0.03, tilt=0.00, expressiveness=1.00),
    Speaker("m01", "m", 120.0, 1.00, f0_range=1.00, rate=1.00, breathiness=0.02, tilt=0.00, expressiveness=1.00),
    Speaker("m02", "m", 105.0, 0.95, f0_range=0.85, rate=1.07, breathiness=0.05, tilt=0.05, expressiveness=0.85),
    Speaker("m03", "m", 136.0, 1.04, f0_range=1.15, rate=0.93, breathiness=0.00, tilt=-0.05, expressiveness=1.15),
    Speaker("m04", "m", 112.0, 0.97, f0_range=0.90, rate=1.05, breathiness=0.06, tilt=0.03, expressiveness=0.90),
    Speaker("m05", "m", 128.0, 1.02, f0_range=1.10, rate=0.96, breathiness=0.03, tilt=-0.03, expressiveness=1.05),
)

# Parameter -> (lower, upper) clip; also fixes the order in which values are drawn.
LIMITS: Dict[str, Tuple[float, float]] = {
    "f0_shift_st": (-6.0, 9.0),
    "f0_range_st": (0.5, 12.0),
    "declination_st": (-6.0, 2.0),
    "final_st": (-6.0, 6.0),
    "tempo": (0.6, 1.7),
    "pause_s": (0.03, 0.6),
    "emphasis_db": (0.0, 12.0),
    "energy_slope_db": (-10.0, 4.0),
    "open_quotient": (0.3, 0.9),
    "speed_quotient": (1.2, 4.5),
    "tilt": (0.0, 0.9),
    "jitter": (0.002, 0.04),
    "shimmer_db": (0.1, 1.5),
    "aspiration": (0.0, 0.5),
    "tremor_st": (0.0, 1.5),
    "articulation": (0.7, 1.25),
}

# Emotion -> parameter -> (mean, sd) of a normal distribution (before speaker effects).
EMOTIONS: Dict[str, Dict[str, Tuple[float, float]]] = {
    "neutral": {
        "f0_shift_st": (0.0, 1.0), "f0_range_st": (4.0, 1.0), "declination_st": (-2.5, 0.8),
        "final_st": (-1.5, 1.0), "tempo": (1.0, 0.08), "pause_s": (0.18, 0.05),
        "emphasis_db": (4.0, 1.5), "energy_slope_db": (-2.0, 1.5), "open_quotient": (0.60, 0.05),
        "speed_quotient": (2.5, 0.4), "tilt": (0.50, 0.09), "jitter": (0.006, 0.002),
        "shimmer_db": (0.30, 0.10), "aspiration": (0.08, 0.03), "tremor_st": (0.0, 0.05),
        "articulation": (1.0, 0.05),
    },
    "happy": {
        "f0_shift_st": (2.5, 1.3), "f0_range_st": (7.0, 1.5), "declination_st": (-1.0, 1.0),
        "final_st": (2.0, 1.5), "tempo": (0.93, 0.08), "pause_s": (0.14, 0.05),
        "emphasis_db": (6.0, 1.5), "energy_slope_db": (-1.0, 1.5), "open_quotient": (0.54, 0.05),
        "speed_quotient": (2.8, 0.4), "tilt": (0.40, 0.09), "jitter": (0.008, 0.002),
        "shimmer_db": (0.35, 0.10), "aspiration": (0.06, 0.03), "tremor_st": (0.0, 0.05),
        "articulation": (1.05, 0.05),
    },
    "angry": {
        "f0_shift_st": (3.5, 1.4), "f0_range_st": (7.5, 1.7), "declination_st": (-3.5, 1.0),
        "final_st": (-3.0, 1.2), "tempo": (0.83, 0.07), "pause_s": (0.10, 0.04),
        "emphasis_db": (8.0, 2.0), "energy_slope_db": (-1.0, 2.0), "open_quotient": (0.43, 0.05),
        "speed_quotient": (3.4, 0.5), "tilt": (0.22, 0.09), "jitter": (0.012, 0.003),
        "shimmer_db": (0.50, 0.15), "aspiration": (0.04, 0.02), "tremor_st": (0.0, 0.05),
        "articulation": (1.10, 0.06),
    },
    "sad": {
        "f0_shift_st": (-1.5, 1.0), "f0_range_st": (2.0, 0.7), "declination_st": (-2.0, 0.8),
        "final_st": (-1.0, 0.7), "tempo": (1.25, 0.10), "pause_s": (0.30, 0.08),
        "emphasis_db": (2.0, 1.0), "energy_slope_db": (-5.0, 1.5), "open_quotient": (0.71, 0.05),
        "speed_quotient": (1.8, 0.3), "tilt": (0.70, 0.08), "jitter": (0.010, 0.003),
        "shimmer_db": (0.55, 0.15), "aspiration": (0.20, 0.06), "tremor_st": (0.15, 0.10),
        "articulation": (0.86, 0.05),
    },
    "fear": {
        "f0_shift_st": (5.0, 1.4), "f0_range_st": (4.5, 1.3), "declination_st": (-0.5, 1.0),
        "final_st": (1.5, 1.5), "tempo": (0.86, 0.08), "pause_s": (0.12, 0.05),
        "emphasis_db": (3.0, 1.5), "energy_slope_db": (-1.0, 2.0), "open_quotient": (0.62, 0.05),
        "speed_quotient": (2.5, 0.4), "tilt": (0.45, 0.10), "jitter": (0.018, 0.005),
        "shimmer_db": (0.60, 0.20), "aspiration": (0.15, 0.05), "tremor_st": (0.6, 0.2),
        "articulation": (0.95, 0.05),
    },
}


def parse_emotions(spec: str) -> List[str]:
    """``"neutral,happy,angry,sad"`` -> list; unknown or repeated names raise ValueError."""
    names = [e.strip() for e in spec.split(",") if e.strip()]
    if not names:
        raise ValueError("--emotions is empty; give a comma-separated list, e.g. neutral,happy,angry,sad")
    for name in names:
        if name not in EMOTIONS:
            raise ValueError(f"unknown emotion '{name}'; choose from {','.join(EMOTIONS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"--emotions lists an emotion twice: '{spec}'")
    return names


def select_speakers(num: int) -> List[Speaker]:
    """The first ``num / 2`` female and ``num / 2`` male speakers."""
    per_gender = num // 2
    if num % 2 or not 1 <= per_gender <= 5:
        raise ValueError(f"--num-speakers must be an even number from 2 to 10, got {num}")
    return [s for g in ("f", "m") for s in [x for x in SPEAKERS if x.gender == g][:per_gender]]


def split_speakers(speakers: Sequence[Speaker]) -> Dict[str, List[str]]:
    """Speaker-independent split, per gender: last -> test, second-to-last -> dev, rest -> train.

    With 5 + 5 speakers: train f01-f03 m01-m03, dev f04 m04, test f05 m05. A gender with only one
    or two speakers leaves dev (and train) without it; empty splits are left out.
    """
    split: Dict[str, List[str]] = {"train": [], "dev": [], "test": []}
    for gender in ("f", "m"):
        ids = [s.spk_id for s in speakers if s.gender == gender]
        if len(ids) >= 2:
            split["test"].append(ids.pop())
        if len(ids) >= 2:
            split["dev"].append(ids.pop())
        split["train"].extend(ids)
    return {name: sorted(ids) for name, ids in split.items() if ids}


def draw_prosody(emotion: str, spk: Speaker, rng: np.random.Generator) -> Prosody:
    """One utterance's prosody: emotion distribution, scaled by expressiveness, plus speaker habits."""
    profile, neutral = EMOTIONS[emotion], EMOTIONS["neutral"]
    values = {}
    for name, (lo, hi) in LIMITS.items():
        mean, sd = profile[name]
        mean = neutral[name][0] + spk.expressiveness * (mean - neutral[name][0])
        values[name] = float(np.clip(rng.normal(mean, sd), lo, hi))
    values["tempo"] *= spk.rate
    values["f0_range_st"] *= spk.f0_range
    values["aspiration"] = min(values["aspiration"] + spk.breathiness, LIMITS["aspiration"][1])
    values["tilt"] = float(np.clip(values["tilt"] + spk.tilt, *LIMITS["tilt"]))
    return Prosody(**values)
