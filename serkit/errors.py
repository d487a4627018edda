"""Exceptions that carry a message a user can act on.

Every error raised for bad input names the file (and line or key) and says what to do.
Command-line entry points turn a :class:`SerkitError` into one line on stderr and exit 1.
"""


class SerkitError(Exception):
    """Base class: a problem with the user's input, configuration or environment."""


class TableError(SerkitError):
    """A Kaldi key table (wav.scp, utt2spk, ...) is malformed."""


class DataDirError(SerkitError):
    """A Kaldi data directory is inconsistent (missing files, mismatched keys)."""


class AudioError(SerkitError):
    """An audio file or wav.scp entry cannot be read or holds no usable samples."""


class ConfigError(SerkitError):
    """A YAML configuration is invalid."""
