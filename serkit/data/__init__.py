"""Kaldi data directories: key tables, audio reading, directory operations."""
