"""What the demo talkers say: sentence templates whose two slots carry some, not all, of the emotion.

Each utterance fills the two adjective slots of one of six templates. Per slot, independently:

* with probability ``CONGRUENT`` (0.5) a word of the utterance's own emotion ("lonely" when sad),
* with probability ``MISLEADING`` (0.2) a word of another emotion of the corpus, drawn uniformly,
* otherwise (0.3) an emotionally empty filler word ("yellow", "wooden");

and with probability ``NEUTRAL_SENTENCE`` (0.15) the whole sentence takes fillers only. The
words alone therefore identify the emotion well above chance but far from always: the Bayes
decision from the words, knowing these probabilities exactly, is right for 61 % of the utterances
of a 4-emotion corpus (``bayes_text_accuracy``), and prosody has to do the rest. The neutral
emotion has its own words ("normal", "steady"), distinct from the fillers.

Every word has a pronunciation in the synthesizer's CV-syllable notation (see
``voice_synth.parse_syllables``), and the audio is rendered from the filled template's syllables,
so transcript and audio always agree. All slot words have two syllables with stress on the
first, so the emotion, not the word choice, is what changes an utterance's length and rhythm;
a sentence has 7-8 syllables (the earlier fixed sentences had 6-9, 7.5 on average).
The draw uses its own generator (derived from the corpus seed and the utterance id), separate
from the prosody's, so it is deterministic and independent of ``--nj``.
"""
from __future__ import annotations

import itertools
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

CONGRUENT = 0.5  # per slot: a word of the utterance's own emotion
MISLEADING = 0.2  # per slot: a word of another emotion
NEUTRAL_SENTENCE = 0.15  # the whole sentence takes fillers only
SLOTS = 2


class Template(NamedTuple):
    text: str  # words, "{0}" and "{1}" for the slots
    syllables: str  # the same in CV syllables ("'" stress, "|" phrase pause), same slot markers


TEMPLATES: Tuple[Template, ...] = (
    Template("{0} kids by the {1} door", "{0} 'kI | 'bai dh^ {1} 'do"),
    Template("the dogs were {0} and {1}", "dh^ 'da gwer {0} | ae {1}"),
    Template("a {0} day and {1} night", "^ {0} 'de | ae {1} 'nai"),
    Template("{0} cloth on the {1} fridge", "{0} 'klo | no dh^ {1} 'fri"),
    Template("i felt {0} and {1}", "ai 'fE {0} | ae {1}"),
    Template("{0} hours will be {1}", "{0} 'au er | wI bi {1}"),
)

# Slot words by emotion (and "filler": no emotion), each with its two-syllable pronunciation.
WORDS: Dict[str, Dict[str, str]] = {
    "angry": {"angry": "'ae gri", "bitter": "'bI ter", "hateful": "'he fU", "hostile": "'ha stai",
              "brutal": "'bru tU", "awful": "'a fU"},
    "happy": {"happy": "'hae pi", "lovely": "'l^ vli", "joyful": "'dyoi fU", "lucky": "'l^ ki",
              "sunny": "'s^ ni", "cheerful": "'shi fU"},
    "sad": {"lonely": "'lo nli", "hopeless": "'ho pl^", "gloomy": "'glu mi", "tearful": "'ti fU",
            "sorry": "'sa ri", "empty": "'E mti"},
    "neutral": {"normal": "'no m^", "usual": "'yu zU", "common": "'ka m^", "steady": "'stE di",
                "standard": "'stae nd^", "decent": "'di s^"},
    "fear": {"nervous": "'ner v^", "frightened": "'frai t^", "anxious": "'ae nsh^", "scary": "'ske ri",
             "worried": "'w^ ri", "shaky": "'she ki"},
    "filler": {"yellow": "'yE lo", "wooden": "'wU d^", "little": "'lI tU", "second": "'sE k^",
               "other": "'^ dher", "morning": "'mo ni", "paper": "'pe per", "silver": "'sI ver"},
}


class Transcript(NamedTuple):
    text: str
    syllables: str
    slots: Tuple[str, ...]  # the category each slot's word came from (an emotion or "filler")


def _pick(category: str, rng: np.random.Generator) -> Tuple[str, str]:
    words = sorted(WORDS[category])
    word = words[int(rng.integers(len(words)))]
    return word, WORDS[category][word]


def draw_transcript(emotion: str, template: int, emotions: Sequence[str], rng: np.random.Generator) -> Transcript:
    """Fill template ``template`` for an utterance of ``emotion``; ``emotions`` are the corpus's
    emotions (misleading words come from the others)."""
    others = [e for e in emotions if e != emotion]
    neutral_sentence = rng.random() < NEUTRAL_SENTENCE
    cats: List[str] = []
    for _ in range(SLOTS):
        u = rng.random()
        if neutral_sentence or u >= CONGRUENT + MISLEADING or (u >= CONGRUENT and not others):
            cats.append("filler")
        elif u < CONGRUENT:
            cats.append(emotion)
        else:
            cats.append(others[int(rng.integers(len(others)))])
    picks = [_pick(c, rng) for c in cats]
    t = TEMPLATES[template]
    return Transcript(t.text.format(*(w for w, _ in picks)), t.syllables.format(*(s for _, s in picks)), tuple(cats))


def word_emotion(word: str) -> str:
    """The category of a slot word ("filler" for fillers), or "" for a template word."""
    return next((cat for cat, words in WORDS.items() if word in words), "")


def bayes_text_accuracy(num_emotions: int = 4) -> float:
    """Accuracy of the best decision from the slot words' categories, given the exact draw
    probabilities above (uniform emotion prior, ties split)."""
    cats = list(range(num_emotions)) + ["filler"]
    filler = 1.0 - CONGRUENT - MISLEADING
    total = 0.0
    for combo in itertools.product(cats, repeat=SLOTS):
        lik = []
        for e in range(num_emotions):
            p = 1.0
            for c in combo:
                p *= filler if c == "filler" else (CONGRUENT if c == e else MISLEADING / (num_emotions - 1))
            p *= 1.0 - NEUTRAL_SENTENCE
            if all(c == "filler" for c in combo):
                p += NEUTRAL_SENTENCE
            lik.append(p)
        lik = np.array(lik)
        best = np.flatnonzero(np.isclose(lik, lik.max()))
        total += float(lik[best].sum()) / len(best) / num_emotions
    return total
