"""Scoring (WA, UA, macro-F1, confusion matrices) and speaker-independent cross-validation folds."""
