#!/usr/bin/env python3
"""Lay EmoDB, SAVEE or the demo corpus out as a user's label folders, to run egs/custom on them.

    tools/venv/bin/python bench/relayout_corpora.py emodb ../shared/corpora/emodb /tmp/emodb_folders
    tools/venv/bin/python bench/relayout_corpora.py savee ../shared/corpora/savee /tmp/savee_folders
    tools/venv/bin/python bench/relayout_corpora.py demo egs/demo/data/all /tmp/demo_folders

Writes ``OUT/<Label>/<file>`` as symbolic links to the original audio, with the label folders
spelt as people spell them (``Angry``, ``Boredom``, ``Pleasant surprise``...: egs/custom must map
them), and prints the egs/custom command with the --speaker-regex that finds the speaker in each
corpus's file names. ``demo`` takes a prepared data directory (wav.scp, utt2emo, utt2spk) and
names the links ``<speaker>_<utterance>``.
"""
import argparse
import os
from pathlib import Path

# Each corpus's label codes, spelt the way a user's folders would spell them.
EMODB = {"W": "Angry", "L": "Boredom", "E": "Disgusted", "A": "Anxiety", "F": "Happiness", "T": "Sadness",
         "N": "Neutral"}
SAVEE = {"a": "anger", "d": "disgust", "f": "Fear", "h": "happy", "n": "NEUTRAL", "sa": "Sad",
         "su": "Pleasant surprise"}
DEMO = {"angry": "Angry", "happy": "Joy", "neutral": "neutral", "sad": "SAD"}
REGEX = {"emodb": r"/(\d\d)[a-z]\d\d", "savee": r"/([A-Z]{2})_", "demo": r"/([^/_]+)_"}


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    os.symlink(src.resolve(), dst)


def emodb(root: Path, out: Path) -> int:
    files = sorted((root / "wav").glob("*.wav"))
    for f in files:
        link(f, out / EMODB[f.stem[5]] / f.name)
    return len(files)


def savee(root: Path, out: Path) -> int:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    for f in files:
        spk, rest = f.stem.split("_", 1)
        code = rest.rstrip("0123456789")
        link(f, out / SAVEE[code] / f.name)
    return len(files)


def demo(data_dir: Path, out: Path) -> int:
    table = lambda name: dict(line.split(maxsplit=1) for line in (data_dir / name).read_text().splitlines())
    wav, emo, spk = table("wav.scp"), table("utt2emo"), table("utt2spk")
    for utt, path in wav.items():
        src = Path(path.strip())
        link(src, out / DEMO[emo[utt].strip()] / f"{spk[utt].strip()}_{utt}{src.suffix}")
    return len(wav)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", choices=("emodb", "savee", "demo"))
    p.add_argument("source", help="the corpus release (emodb, savee) or a prepared data directory (demo)")
    p.add_argument("out")
    args = p.parse_args()
    n = {"emodb": emodb, "savee": savee, "demo": demo}[args.corpus](Path(args.source), Path(args.out))
    print(f"{n} files laid out in {args.out}; run:\n"
          f"  cd egs/custom && ./run.sh --corpus-root {Path(args.out).resolve()} --speaker-regex '{REGEX[args.corpus]}'")


if __name__ == "__main__":
    main()
