"""Kaldi data directories: key tables, audio reading and resampling, directory operations,
validation, corpus preparation helpers, label spellings and mappings, speaker-independent folds."""
