"""A small source-filter (Klatt-style) voice synthesizer for the demo emotional-speech corpus.

Nothing here is meant to sound natural; it is meant to put the acoustic correlates of emotion
where real speech has them, so that a recognizer has something real to learn:

* glottal source: a Rosenberg pulse train following an F0 contour, with per-cycle jitter,
  shimmer and open-quotient variation, a one-pole spectral-tilt filter (vocal effort) and
  pulse-synchronous aspiration noise (breathiness);
* vocal tract: a cascade of F1-F3 resonators whose targets move between vowels and consonant
  loci every 5 ms (coarticulation), plus fixed F4/F5, all scaled by the speaker's vocal-tract
  length; lip radiation is folded in by exciting the filter with the flow derivative;
* consonants: voiceless/voiced fricatives and plosive bursts as band-pass noise, aspiration
  (/h/, voice-onset time) as noise through the formant cascade, sonorants as weaker voicing.

Every function takes its parameters explicitly (a :class:`Speaker`, a :class:`Prosody`, a numpy
``Generator``); there is no module state, so the same inputs always give the same samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import signal

HOP_S = 0.005  # control rate of the formant and amplitude tracks (Klatt's 5 ms frames)

# Adult-male vowel formants F1-F3 in Hz (after Hillenbrand et al. 1995); diphthongs glide
# between two of them. Speakers scale every formant by their vocal-tract factor.
VOWELS = {
    "i": (342, 2322, 3000), "I": (427, 2034, 2684), "e": (476, 2089, 2691), "E": (580, 1799, 2605),
    "ae": (588, 1952, 2601), "a": (768, 1333, 2522), "o": (497, 910, 2459), "U": (469, 1122, 2434),
    "u": (378, 997, 2343), "^": (623, 1200, 2550), "er": (474, 1379, 1710),
}
DIPHTHONGS = {"ai": ("a", "I"), "au": ("a", "U"), "oi": ("o", "I")}
SCHWA = np.array([500.0, 1500.0, 2500.0])  # the neutral tract that articulation scales around


@dataclass(frozen=True)
class Consonant:
    kind: str  # stop | fric | asp | nasal | liquid | glide
    voiced: bool
    locus: Optional[Tuple[float, float, float]]  # F1-F3 the formants move towards (None: keep)
    band: Optional[Tuple[float, float]]  # noise band (Hz, adult male) of the burst / frication
    noise: float  # noise amplitude relative to the vowel level
    dur: float  # nominal duration (s) at tempo 1


CONSONANTS = {
    "p": Consonant("stop", False, (250, 800, 2200), (500, 2500), 0.25, 0.075),
    "t": Consonant("stop", False, (250, 1800, 2700), (2500, 6500), 0.45, 0.080),
    "k": Consonant("stop", False, (250, 1900, 2300), (1500, 3500), 0.45, 0.085),
    "b": Consonant("stop", True, (250, 800, 2200), (500, 2500), 0.15, 0.060),
    "d": Consonant("stop", True, (250, 1800, 2700), (2500, 6000), 0.25, 0.060),
    "g": Consonant("stop", True, (250, 1900, 2300), (1500, 3500), 0.25, 0.065),
    "f": Consonant("fric", False, (300, 1100, 2300), (1200, 7000), 0.08, 0.100),
    "th": Consonant("fric", False, (300, 1600, 2600), (1500, 7000), 0.07, 0.090),
    "s": Consonant("fric", False, (300, 1700, 2700), (4000, 7500), 0.30, 0.110),
    "sh": Consonant("fric", False, (300, 1900, 2400), (1800, 5000), 0.30, 0.110),
    "v": Consonant("fric", True, (300, 1100, 2300), (1200, 6000), 0.05, 0.070),
    "dh": Consonant("fric", True, (300, 1600, 2600), (1500, 6000), 0.04, 0.055),
    "z": Consonant("fric", True, (300, 1700, 2700), (4000, 7500), 0.15, 0.085),
    "h": Consonant("asp", False, None, None, 0.45, 0.070),
    "m": Consonant("nasal", True, (280, 1000, 2200), None, 0.0, 0.070),
    "n": Consonant("nasal", True, (280, 1500, 2500), None, 0.0, 0.065),
    "l": Consonant("liquid", True, (360, 1300, 2900), None, 0.0, 0.065),
    "r": Consonant("liquid", True, (320, 1060, 1400), None, 0.0, 0.065),
    "w": Consonant("glide", True, (300, 700, 2200), None, 0.0, 0.060),
    "y": Consonant("glide", True, (280, 2100, 3000), None, 0.0, 0.060),
}
# Voicing amplitude (relative to a vowel) while each consonant kind is held.
VOICING = {"nasal": 0.35, "liquid": 0.6, "glide": 0.7, "fric": 0.35, "stop": 0.08}


@dataclass(frozen=True)
class Speaker:
    """A synthetic talker: voice (F0, vocal-tract length) and speaking tendencies."""

    spk_id: str
    gender: str  # "f" or "m"
    f0_hz: float  # habitual F0 in neutral speech
    formant_scale: float  # vocal-tract length factor (formants = adult-male targets x scale)
    f0_range: float = 1.0  # multiplies the pitch-accent size of every emotion
    rate: float = 1.0  # multiplies syllable durations (> 1: a slower talker)
    breathiness: float = 0.0  # added to the aspiration level
    tilt: float = 0.0  # added to the spectral-tilt coefficient (> 0: a softer, darker voice)
    expressiveness: float = 1.0  # scales how far emotions move prosody away from neutral


@dataclass(frozen=True)
class Prosody:
    """How one utterance is spoken: everything an emotion (and a talker) changes."""

    f0_shift_st: float  # F0 level re the speaker's habitual F0, semitones
    f0_range_st: float  # pitch-accent height on stressed syllables, semitones
    declination_st: float  # F0 drift from first to last syllable (negative: falling)
    final_st: float  # boundary tone on the last vowel (+ rise, - fall)
    tempo: float  # syllable-duration multiplier (> 1: slower)
    pause_s: float  # phrase-break pause
    emphasis_db: float  # stressed minus unstressed syllable energy
    energy_slope_db: float  # energy change from first to last syllable
    open_quotient: float  # glottal open quotient (0.4 tense ... 0.8 lax)
    speed_quotient: float  # opening / closing time (pulse skew; larger: more abrupt closure)
    tilt: float  # one-pole low-pass coefficient on the source (0 flat ... 0.9 steep)
    jitter: float  # relative std of the period, cycle to cycle
    shimmer_db: float  # std of the cycle amplitude, dB
    aspiration: float  # aspiration noise relative to the voiced excitation
    tremor_st: float = 0.0  # depth of a 5-7 Hz F0 tremor, semitones
    articulation: float = 1.0  # vowel-target spread around schwa (< 1 reduced, > 1 hyper)


@dataclass(frozen=True)
class Syllable:
    onset: Tuple[str, ...]
    vowel: str
    stress: bool
    pause_before: bool


def parse_syllables(spec: str) -> List[Syllable]:
    """Parse ``"'kI d^ 'to kI | 'bai dh^ 'do"``: ``'`` marks stress, ``|`` a phrase pause.

    Each token is an onset (zero or more consonants) followed by one vowel or diphthong.
    """
    out: List[Syllable] = []
    pause = False
    for token in spec.split():
        if token == "|":
            pause = True
            continue
        stress = token.startswith("'")
        body = token.lstrip("'")
        for i in range(len(body)):
            if body[i:] in VOWELS or body[i:] in DIPHTHONGS:
                onset, vowel = body[:i], body[i:]
                break
        else:
            raise ValueError(f"syllable '{token}' does not end in a vowel ({' '.join(VOWELS)} or diphthong)")
        phones: List[str] = []
        while onset:  # greedy longest match: 'sh', 'th', 'dh' before single letters
            match = next((c for c in sorted(CONSONANTS, key=len, reverse=True) if onset.startswith(c)), None)
            if match is None:
                raise ValueError(f"syllable '{token}': unknown consonant at '{onset}'")
            phones.append(match)
            onset = onset[len(match):]
        out.append(Syllable(tuple(phones), vowel, stress, pause))
        pause = False
    if not out:
        raise ValueError(f"no syllables in '{spec}'")
    return out


@dataclass
class _Segment:
    phone: str
    t0: float
    t1: float
    gain_db: float


def _layout(sylls: Sequence[Syllable], spk: Speaker, pros: Prosody, rng: np.random.Generator, lead: float):
    """Place every phone in time; return segments and per-syllable (time, pitch target) pairs."""
    segs: List[_Segment] = []
    accents: List[Tuple[float, float]] = []
    t, n = lead, len(sylls)
    for i, syl in enumerate(sylls):
        if syl.pause_before and i > 0:
            t += pros.pause_s * rng.uniform(0.8, 1.25)
        rel = i / max(n - 1, 1)
        gain = (0.5 if syl.stress else -0.5) * pros.emphasis_db + pros.energy_slope_db * rel + rng.normal(0, 1.0)
        stretch = pros.tempo * rng.uniform(0.9, 1.1)
        for c in syl.onset:
            d = CONSONANTS[c].dur * stretch ** 0.6  # consonants stretch less than vowels
            segs.append(_Segment(c, t, t + d, gain))
            t += d
        vd = (0.165 if syl.stress else 0.115) * stretch * (1.35 if i == n - 1 else 1.0)  # final lengthening
        segs.append(_Segment(syl.vowel, t, t + vd, gain))
        # pitch target: high on stressed syllables (accent), low on unstressed ones
        accents.append((t + 0.45 * vd, rng.uniform(0.6, 1.0) if syl.stress else rng.uniform(-0.35, -0.1)))
        t += vd
    return segs, accents, t


def _vowel_targets(vowel: str, articulation: float) -> List[np.ndarray]:
    names = DIPHTHONGS.get(vowel, (vowel,))
    return [SCHWA + articulation * (np.array(VOWELS[v], float) - SCHWA) for v in names]


def _tracks(segs: List[_Segment], n_frames: int, pros: Prosody):
    """Formant (n_frames x 3), voicing and aspiration amplitude tracks at the 5 ms control rate."""
    key_t: List[float] = []
    key_f: List[np.ndarray] = []
    av = np.zeros(n_frames)
    ah = np.zeros(n_frames)

    def frames(t0: float, t1: float) -> slice:
        return slice(int(round(t0 / HOP_S)), max(int(round(t1 / HOP_S)), int(round(t0 / HOP_S)) + 1))

    for seg in segs:
        amp, dur = 10 ** (seg.gain_db / 20), seg.t1 - seg.t0
        if seg.phone in CONSONANTS:
            c = CONSONANTS[seg.phone]
            if c.locus is not None:
                key_t.append(seg.t0 + (dur if c.kind == "stop" else 0.5 * dur))
                key_f.append(np.array(c.locus, float))
            if c.kind == "asp":
                ah[frames(seg.t0, seg.t1)] = c.noise * amp
            elif c.voiced:
                av[frames(seg.t0, seg.t1)] = VOICING[c.kind] * amp
        else:
            targets = _vowel_targets(seg.phone, pros.articulation)
            places = (0.3, 0.7) if len(targets) == 1 else (0.2, 0.85)
            for frac, tgt in zip(places, targets * (3 - len(targets))):
                key_t.append(seg.t0 + frac * dur)
                key_f.append(tgt)
            av[frames(seg.t0, seg.t1)] = amp
    for i, seg in enumerate(segs):  # voiceless stops: aspirated voice-onset time into the vowel
        c = CONSONANTS.get(seg.phone)
        if c is not None and c.kind == "stop" and not c.voiced and i + 1 < len(segs):
            vot = frames(seg.t1, seg.t1 + 0.035 * pros.tempo ** 0.5)
            ah[vot] = 0.4 * 10 ** (seg.gain_db / 20)
            av[vot] = 0.0
    win = np.hanning(7)[1:-1]
    av = np.convolve(av, win / win.sum(), mode="same")
    ah = np.convolve(ah, win / win.sum(), mode="same")
    t = np.arange(n_frames) * HOP_S
    formants = np.stack([np.interp(t, key_t, [f[k] for f in key_f]) for k in range(3)], axis=1)
    return formants, av, ah


def _f0_track(n_frames: int, segs: List[_Segment], accents, spk: Speaker, pros: Prosody, rng: np.random.Generator):
    """F0 (Hz) per control frame: level + declination + accents + boundary tone + drift + tremor.

    Syllable pitch targets (x the F0 range) are joined linearly and smoothed over 60 ms.
    """
    t = np.arange(n_frames) * HOP_S
    t_start, t_end = segs[0].t0, segs[-1].t1
    u = np.clip((t - t_start) / (t_end - t_start), 0.0, 1.0)
    st = pros.f0_shift_st + pros.declination_st * (u - 0.5)
    targets = np.interp(t, [a[0] for a in accents], [a[1] for a in accents]) * pros.f0_range_st
    smooth = np.hanning(int(0.06 / HOP_S) + 2)[1:-1]
    st += np.convolve(np.pad(targets, len(smooth)), smooth / smooth.sum(), mode="same")[len(smooth):-len(smooth)]
    last = segs[-1]
    st += pros.final_st * np.clip((t - last.t0) / (last.t1 - last.t0), 0.0, 1.0) ** 2
    drift = np.convolve(rng.standard_normal(n_frames + 80), np.hanning(41), mode="same")[40:-40]
    st += 0.4 * drift / (drift.std() + 1e-9)
    st += pros.tremor_st * np.sin(2 * np.pi * rng.uniform(5.0, 7.0) * t + rng.uniform(0, 2 * np.pi))
    return np.clip(spk.f0_hz * 2.0 ** (st / 12.0), 50.0, 600.0)


def glottal_flow(f0: np.ndarray, pros: Prosody, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Rosenberg glottal flow for per-sample ``f0`` (Hz), with jitter, shimmer and OQ variation."""
    n = len(f0)
    max_cycles = int(n * float(f0.max()) / sr * 1.2) + 8
    jit = np.clip(rng.standard_normal(max_cycles), -3, 3) * pros.jitter
    starts = np.empty(max_cycles + 1)
    t, k = 0.0, 0
    while t < n and k < max_cycles:
        starts[k] = t
        t += sr / f0[int(t)] * (1.0 + jit[k])
        k += 1
    starts[k] = t
    starts, periods = starts[:k], np.diff(starts[: k + 1])
    idx = np.searchsorted(starts, np.arange(n), side="right") - 1
    phi = (np.arange(n) - starts[idx]) / periods[idx]
    oq = np.clip(pros.open_quotient + 0.02 * rng.standard_normal(k), 0.25, 0.95)[idx]
    tp = oq * pros.speed_quotient / (1.0 + pros.speed_quotient)
    tn = oq / (1.0 + pros.speed_quotient)
    flow = np.where(phi < tp, 0.5 * (1.0 - np.cos(np.pi * phi / tp)),
                    np.where(phi < tp + tn, np.cos(0.5 * np.pi * (phi - tp) / tn), 0.0))
    shimmer = 10.0 ** (np.clip(rng.standard_normal(k), -3, 3) * pros.shimmer_db / 20.0)
    return flow * shimmer[idx]


def _resonator(freq, bw, sr: int):
    """Unity-DC-gain two-pole resonator coefficients (arrays broadcast)."""
    r = np.exp(-np.pi * np.asarray(bw, float) / sr)
    a1 = -2.0 * r * np.cos(2.0 * np.pi * np.asarray(freq, float) / sr)
    a2 = r * r
    return 1.0 + a1 + a2, a1, a2


def formant_cascade(x: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray, hop: int, sr: int) -> np.ndarray:
    """Filter ``x`` through time-varying resonators (one row of ``formants`` per ``hop`` samples).

    Coefficients change at block edges; the direct-form state is rebuilt from the last two
    outputs, so each resonator is the exact time-varying recursion y = g x - a1 y[-1] - a2 y[-2].
    """
    n = len(x)
    y = x
    for k in range(formants.shape[1]):
        g, a1, a2 = _resonator(formants[:, k], bandwidths[:, k], sr)
        out = np.empty(n)
        y1 = y2 = 0.0
        for j, start in enumerate(range(0, n, hop)):
            j = min(j, len(g) - 1)
            block, _ = signal.lfilter([g[j]], [1.0, a1[j], a2[j]], y[start:start + hop],
                                      zi=[-a1[j] * y1 - a2[j] * y2, -a2[j] * y1])
            out[start:start + hop] = block
            y2, y1 = (block[-2] if len(block) > 1 else y1), block[-1]
        y = out
    return y


def _noise_band(n: int, band: Tuple[float, float], scale: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    hi = min(band[1] * scale, 0.45 * sr)
    lo = min(band[0] * scale, 0.6 * hi)
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n + 64))[64:]
    return noise / (noise.std() + 1e-12)


def synthesize(spec: str, spk: Speaker, pros: Prosody, rng: np.random.Generator, sr: int = 16000) -> np.ndarray:
    """Render the syllable string ``spec`` (see :func:`parse_syllables`) as float samples.

    The level is arbitrary; :func:`finish` adds the noise floor and sets the RMS.
    """
    lead, trail = rng.uniform(0.12, 0.25), rng.uniform(0.15, 0.3)
    segs, accents, t_end = _layout(parse_syllables(spec), spk, pros, rng, lead)
    n = int(round((t_end + trail) * sr))
    hop = int(round(HOP_S * sr))
    n_frames = -(-n // hop) + 1
    formants, av, ah = _tracks(segs, n_frames, pros)
    formants = formants * spk.formant_scale
    f0_frames = _f0_track(n_frames, segs, accents, spk, pros, rng)
    frame_pos = np.arange(n_frames) * hop
    pos = np.arange(n)
    f0 = np.interp(pos, frame_pos, f0_frames)
    av_s, ah_s = np.interp(pos, frame_pos, av), np.interp(pos, frame_pos, ah)

    # Source: tilted flow, differentiated (lip radiation), plus aspiration noise.
    flow = glottal_flow(f0, pros, rng, sr)
    tilt = float(np.clip(pros.tilt, 0.0, 0.95))
    voiced = signal.lfilter([1.0 - tilt], [1.0, -tilt], flow) * av_s
    exc = np.diff(voiced, prepend=0.0)
    ref = np.sqrt(np.mean(exc[av_s > 0.5] ** 2)) if np.any(av_s > 0.5) else 1.0
    noise = rng.standard_normal(n)
    breath = signal.lfilter([1.0 - tilt], [1.0, -tilt], noise)  # low effort damps the noise's highs too
    breath /= breath.std() + 1e-12
    pulse = 0.4 + 0.6 * flow / (flow.max() + 1e-12)  # aspiration is strongest while the glottis is open
    exc = exc + ref * (pros.aspiration * av_s * pulse * breath + ah_s * noise)

    # Vocal tract: F1-F3 move; B1 widens with an open (breathy) glottis; F4, F5 fixed.
    bw = np.array([70.0, 100.0, 140.0]) * (0.8 + 0.2 * spk.formant_scale)
    bandwidths = np.tile(bw, (n_frames, 1))
    bandwidths[:, 0] *= 1.0 + 1.5 * pros.aspiration
    y = formant_cascade(exc, formants, bandwidths, hop, sr)
    for freq, b in ((3300.0, 200.0), (4200.0, 250.0)):
        if freq * spk.formant_scale < 0.45 * sr:
            g, a1, a2 = _resonator(freq * spk.formant_scale, b, sr)
            y = signal.lfilter([g], [1.0, a1, a2], y)

    # Consonant noise: fricatives over their segment, plosive bursts at the release.
    vowel_rms = np.sqrt(np.mean(y[av_s > 0.5] ** 2)) if np.any(av_s > 0.5) else 1.0
    for seg in segs:
        c = CONSONANTS.get(seg.phone)
        if c is None or c.band is None:
            continue
        if c.kind == "fric":
            t0, length, ramp = seg.t0, seg.t1 - seg.t0, 0.02
        else:
            t0, length, ramp = seg.t1 - 0.003, 0.012, 0.002
        s0, m = int(t0 * sr), max(int(length * sr), 8)
        env = np.ones(m)
        r = min(max(int(ramp * sr), 1), m // 2)
        env[:r], env[m - r:] = np.linspace(0, 1, r), np.linspace(1, 0, r)
        burst = _noise_band(m, c.band, spk.formant_scale, rng, sr) * env
        y[s0:s0 + m] += burst[: len(y[s0:s0 + m])] * c.noise * vowel_rms * 10 ** (seg.gain_db / 20)
    return y


def finish(y: np.ndarray, rng: np.random.Generator, level_dbfs: float, snr_db: float, sr: int,
           knee: float = 0.5) -> np.ndarray:
    """Remove DC/rumble, add a pink-ish noise floor ``snr_db`` below the speech, set the RMS level.

    Samples above ``knee`` (full scale = 1) are soft-limited (tanh, slope 1 at the knee) so that
    nothing clips: tense, emphatic speech has crest factors up to ~24 dB. In the default corpus a
    few peak samples of about a quarter of the utterances are touched; the RMS moves < 0.1 dB.
    """
    y = signal.sosfilt(signal.butter(2, 60.0, btype="highpass", fs=sr, output="sos"), y)
    floor = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(len(y)))
    y = y + floor / floor.std() * np.sqrt(np.mean(y ** 2)) * 10 ** (-snr_db / 20)
    y = y * (10 ** (level_dbfs / 20) / np.sqrt(np.mean(y ** 2)))
    over = np.abs(y) > knee
    y[over] = np.sign(y[over]) * (knee + (1.0 - knee) * np.tanh((np.abs(y[over]) - knee) / (1.0 - knee)))
    return y
