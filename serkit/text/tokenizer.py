"""Sentencepiece tokenization of transcripts (the data directory's ``text`` table).

The model is trained at the start of training on the *training* set's transcripts only, with
one thread, no input sampling and a fixed seed, so the same text gives byte-identical model
files. Its serialized bytes travel in every checkpoint (``spm_model``), so prediction and
export need no other file. Ids: 0 = padding, 1 = unknown piece; no BOS/EOS. An utterance without
a transcript (absent from ``text``, or empty) encodes to no tokens; the models then use their
learned "no text" input.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Iterable, List, Optional

import numpy as np

from serkit.errors import SerkitError

logger = logging.getLogger(__name__)

PAD_ID = 0
UNK_ID = 1
SPM_SEED = 777


@dataclass
class TextConfig:
    """``data.text`` in conf/train.yaml."""

    enabled: bool = False  # read transcripts and tokenize them (needed by the text and fusion models)
    vocab_size: int = 200  # the most pieces; a small corpus may yield fewer (the trainer logs how many)
    model_type: str = "unigram"  # unigram | bpe
    character_coverage: float = 1.0
    lowercase: bool = True
    max_tokens: int = 128  # longer transcripts are cut to their first max_tokens pieces
    drop_prob: float = 0.0  # training only: share of utterances whose text is hidden (modality dropout)

    def __post_init__(self) -> None:
        if self.model_type not in ("unigram", "bpe"):
            raise ValueError(f"text.model_type '{self.model_type}' is not unigram or bpe")
        if self.vocab_size < 8:
            raise ValueError("text.vocab_size must be >= 8")
        if not 0.0 < self.character_coverage <= 1.0:
            raise ValueError("text.character_coverage must be in (0, 1]")
        if self.max_tokens < 1:
            raise ValueError("text.max_tokens must be >= 1")
        if not 0.0 <= self.drop_prob < 1.0:
            raise ValueError("text.drop_prob must be in [0, 1)")


def normalize_text(text: Optional[str], lowercase: bool = True) -> str:
    """Whitespace collapsed (and lower-cased); ``None`` -> ``""``."""
    if not text:
        return ""
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def train_sentencepiece(texts: Iterable[Optional[str]], config: TextConfig) -> bytes:
    """A serialized sentencepiece model trained on the non-empty ``texts`` (in the given order)."""
    import sentencepiece as spm

    sentences = [t for t in (normalize_text(x, config.lowercase) for x in texts) if t]
    if not sentences:
        raise SerkitError(
            "data.text.enabled: none of the training utterances has a transcript; give the training data "
            "directory a 'text' table ('<utt> <words>'), or set data.text.enabled: false"
        )
    spm.set_random_generator_seed(SPM_SEED)
    out = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=out, vocab_size=config.vocab_size,
            model_type=config.model_type, character_coverage=config.character_coverage,
            pad_id=PAD_ID, unk_id=UNK_ID, bos_id=-1, eos_id=-1, hard_vocab_limit=False,
            num_threads=1, shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2,
        )
    except RuntimeError as err:
        raise SerkitError(f"sentencepiece training failed on {len(sentences)} transcripts: {err}") from None
    return out.getvalue()


class Tokenizer:
    """Transcript -> int64 token ids, from a serialized sentencepiece model."""

    def __init__(self, model: bytes, lowercase: bool = True, max_tokens: int = 128) -> None:
        import sentencepiece as spm

        self.model_bytes = bytes(model)
        self.lowercase, self.max_tokens = lowercase, max_tokens
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(self.model_bytes)
        except Exception as err:  # a truncated or foreign blob
            raise SerkitError(f"not a sentencepiece model ({type(err).__name__}: {err})") from None
        if self.sp.pad_id() != PAD_ID:
            raise SerkitError(f"sentencepiece model has pad id {self.sp.pad_id()}, serkit needs {PAD_ID}; retrain it")

    @classmethod
    def from_config(cls, model: bytes, config: TextConfig) -> "Tokenizer":
        return cls(model, config.lowercase, config.max_tokens)

    @property
    def vocab_size(self) -> int:
        return int(self.sp.get_piece_size())

    def encode(self, text: Optional[str]) -> np.ndarray:
        """Token ids (no padding); empty for a missing or empty transcript."""
        text = normalize_text(text, self.lowercase)
        ids = self.sp.encode(text) if text else []
        return np.asarray(ids[: self.max_tokens], dtype=np.int64)

    def pieces(self, text: Optional[str]) -> List[str]:
        text = normalize_text(text, self.lowercase)
        return list(self.sp.encode(text, out_type=str))[: self.max_tokens] if text else []
