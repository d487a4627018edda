"""Scoring: WA, UA, macro-F1, confusion matrices, aggregation over folds, late fusion."""
