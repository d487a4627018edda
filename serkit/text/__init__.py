"""Transcripts as model input: sentencepiece tokenization trained on the training set's ``text``."""
from serkit.text.tokenizer import TextConfig, Tokenizer, normalize_text, train_sentencepiece  # noqa: F401
