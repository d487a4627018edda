"""Thin command-line entry points (``python -m serkit.bin.<name>``); the work is in the library."""
