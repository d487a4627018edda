"""Inputs and outputs of serkit-infer: audio files, wav.scp tables, directories; JSON lines,
Kaldi ark of posteriors, text table."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np

from serkit.data.table import read_table
from serkit.errors import SerkitError

logger = logging.getLogger(__name__)

SCP_SUFFIXES = (".scp",)


# Names that promise audio: in a directory, such a file that cannot be read is an error (or,
# with --skip-errors, a skip); any other unreadable file (notes.txt, labels.csv) is passed over.
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".snd", ".w64", ".caf", ".sph"}


def why_not_audio(path: Path) -> Optional[str]:
    """None when soundfile can read the file's header (audio by content, not by name), else why not."""
    import soundfile as sf

    if path.is_symlink() and not path.exists():
        return f"dangling symbolic link (to {os.readlink(path)})"
    if not path.is_file():
        return "not a regular file"
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        sf.info(str(path))
        return None
    except Exception as err:
        return f"not audio (soundfile cannot read it: {str(err).splitlines()[0]})"


@dataclass
class Rejected:
    path: str
    reason: str
    looks_like_audio: bool  # named like audio: an error unless the user skips errors


def _utt_id(path: Path, root: Optional[Path]) -> str:
    rel = path.relative_to(root) if root is not None else Path(path.name)
    return re.sub(r"\s+", "_", rel.with_suffix("").as_posix())


def collect_inputs(paths: Sequence[str], wav_scp: Optional[str] = None) -> Tuple[Dict[str, str], List[Rejected]]:
    """``utt -> wav.scp entry`` for audio files, ``*.scp`` tables and directories (searched
    recursively; every file soundfile can read is taken, whatever its name), and every file of a
    directory that was not taken, with the reason."""
    entries: Dict[str, str] = {}
    rejected: List[Rejected] = []
    origin: Dict[str, str] = {}

    def add(utt: str, entry: str, where: str) -> None:
        if utt in entries:
            raise SerkitError(f"utterance id '{utt}' comes twice ({origin[utt]} and {where}); rename one of the files")
        entries[utt], origin[utt] = entry, where

    for scp in ([wav_scp] if wav_scp else []) + [p for p in paths if p.endswith(SCP_SUFFIXES)]:
        table = read_table(scp)
        for utt, entry in table.items():
            add(utt, entry, table.where(utt))
    for raw in paths:
        if raw.endswith(SCP_SUFFIXES):
            continue
        path = Path(raw)
        if path.is_dir():
            found = 0
            for p in sorted(path.rglob("*")):
                if p.is_dir() and not p.is_symlink():
                    continue
                reason = why_not_audio(p)
                if reason is None:
                    add(_utt_id(p, path), str(p), str(p))
                    found += 1
                else:
                    rejected.append(Rejected(str(p), reason, p.suffix.lower() in AUDIO_SUFFIXES))
            if not found:
                raise SerkitError(f"directory '{path}' holds no readable audio files"
                                  + (f" ({len(rejected)} other files, e.g. {rejected[0].path}: {rejected[0].reason})"
                                     if rejected else ""))
        elif path.is_file():
            add(_utt_id(path, None), str(path), str(path))
        else:
            raise SerkitError(f"input '{raw}' does not exist")
    if not entries:
        raise SerkitError("no inputs: give audio files, a wav.scp or a directory")
    return entries, rejected


def read_speakers(utts: Sequence[str], utt2spk: Optional[str] = None, spk2utt: Optional[str] = None) -> Dict[str, str]:
    """``utt -> speaker`` for every input utterance, from utt2spk or spk2utt."""
    if utt2spk:
        table: Dict[str, str] = read_table(utt2spk)
        where = utt2spk
    else:
        s2u = read_table(spk2utt)
        table = {u: spk for spk in s2u for u in s2u.fields(spk)}
        where = spk2utt
    missing = [u for u in utts if u not in table]
    if missing:
        raise SerkitError(f"{where}: no speaker for {len(missing)} input utterances (e.g. '{missing[0]}')")
    return {u: table[u] for u in utts}


class Writer:
    """``jsonl`` (one JSON object a line), ``table`` (aligned text), ``utt2pred`` (a sorted Kaldi
    table ``<utt> <label>``, what compute_metrics scores) or ``ark`` (Kaldi float vectors,
    posteriors in label order; a file also gets a .scp and labels.txt beside it)."""

    def __init__(self, fmt: str, output: str, labels: Sequence[str]) -> None:
        self.fmt, self.output, self.labels = fmt, output, list(labels)
        self._ark = None
        self._text: Optional[TextIO] = None
        self._preds: dict = {}
        if output != "-":
            Path(output).parent.mkdir(parents=True, exist_ok=True)
        if fmt == "ark":
            if output == "-":
                self._ark_stream = sys.stdout.buffer
            else:
                from serkit.feats.ark import AtomicArkWriter

                scp = output[:-4] + ".scp" if output.endswith(".ark") else output + ".scp"
                self._ark = AtomicArkWriter(output, scp).__enter__()
                (Path(output).parent / "labels.txt").write_text("".join(f"{x}\n" for x in self.labels))
        else:
            self._text = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
            if fmt == "table":
                width = max(8, *(len(x) + 1 for x in self.labels))
                self._width = width
                head = "".join(f"{x:>{width}}" for x in self.labels)
                self._text.write(f"{'utt':<24} {'label':<12}{head}  silent\n")

    def write(self, utt: str, pred) -> None:
        if self.fmt == "utt2pred":
            self._preds[utt] = pred.label
        elif self.fmt == "jsonl":
            self._text.write(json.dumps(pred.as_dict(utt)) + "\n")
            self._text.flush()
        elif self.fmt == "table":
            cols = "".join(f"{pred.posteriors[x]:>{self._width}.3f}" for x in self.labels)
            self._text.write(f"{utt:<24} {pred.label:<12}{cols}  {'yes' if pred.silent else 'no'}\n")
        else:
            vec = np.array([pred.posteriors[x] for x in self.labels], dtype=np.float32)
            if self._ark is not None:
                self._ark.write(utt, vec)
            else:
                import kaldiio

                kaldiio.save_ark(self._ark_stream, {utt: vec})

    def close(self, ok: bool = True) -> None:
        if self.fmt == "utt2pred" and ok:
            from serkit.data.table import c_sort_key

            for utt in sorted(self._preds, key=c_sort_key):
                self._text.write(f"{utt} {self._preds[utt]}\n")
        if self._ark is not None:
            self._ark.__exit__(None if ok else SerkitError, None, None)
        elif self._text is not None and self._text is not sys.stdout:
            self._text.close()
        elif self._text is not None:
            self._text.flush()
        if self.fmt == "ark" and self._ark is None:
            self._ark_stream.flush()
