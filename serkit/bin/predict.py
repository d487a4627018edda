"""Classify every utterance of a data directory with a trained checkpoint.

    python -m serkit.bin.predict --model exp/x/final.pt --data data/test --out-dir exp/x/decode_test

Writes ``utt2pred`` (Kaldi table: utterance -> label), ``posteriors.ark``/``.scp`` (Kaldi float
vectors in the order of ``labels.txt``), ``labels.txt``, and ``silent``: the utterances whose
audio (wav.scp) is below -60 dBFS, whose predictions mean nothing (a warning says how many). Features get the same CMVN the
model was trained with (from the checkpoint's config). A model that reads transcripts tokenizes
the data directory's ``text`` with the sentencepiece model stored in its checkpoint; utterances
without a transcript get the model's learned "no text" input.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List

import numpy as np
import torch

from serkit.data.audio import DEFAULT_SAMPLE_RATE, SILENCE_DBFS, rms_dbfs
from serkit.data.datadir import DataDir
from serkit.data.table import write_table
from serkit.loader.examples import load_examples
from serkit.data.table import read_label_list, write_label_list
from serkit.loader.pipeline import tokenized
from serkit.errors import AudioError, SerkitError
from serkit.feats.ark import AtomicArkWriter
from serkit.models import model_from_checkpoint, uses_text
from serkit.text.tokenizer import TextConfig, Tokenizer
from serkit.train.checkpoint import load_checkpoint
from serkit.train.evaluate import evaluate
from serkit.utils import cli
from serkit.utils.config import from_dict

logger = logging.getLogger("serkit.predict")


def _silent_utterances(data_dir: str, utts: List[str], state: dict) -> List[str]:
    """The utterances whose audio is quieter than SILENCE_DBFS, as serkit-infer flags them. Read
    from wav.scp (features at the floor do not say how quiet the audio was); unreadable audio is
    not judged here (feature extraction already reported it)."""
    d = DataDir(data_dir)
    if not d.has("wav.scp"):
        logger.info("%s has no wav.scp: silent utterances cannot be flagged", data_dir)
        return []
    rate = int(state.get("feats_config", {}).get("sample_rate", DEFAULT_SAMPLE_RATE))
    loader = d.audio_loader(rate)
    silent = []
    for utt in utts:
        try:
            if rms_dbfs(loader.load(utt)) < SILENCE_DBFS:
                silent.append(utt)
        except AudioError as err:
            logger.info("silence check: %s", err)
    return sorted(silent)


def _decide_among(posteriors: np.ndarray, labels: List[str], subset: List[str], where: str) -> List[int]:
    """Argmax over the columns of ``subset`` only (indices into ``labels``)."""
    unknown = [x for x in subset if x not in labels]
    if unknown:
        raise SerkitError(f"{where}: labels {unknown} are not the model's ({' '.join(labels)})")
    columns = [labels.index(x) for x in subset]
    return [columns[int(i)] for i in np.argmax(posteriors[:, columns], axis=1)]


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="checkpoint (final.pt, best.pt or epoch_<n>.pt)")
    p.add_argument("--data", required=True, help="data directory with feats.scp (and cmvn.scp if the model used it)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--unknown-labels", choices=("error", "skip"), default="error",
                   help="utterances whose utt2emo label the model does not know: stop, or leave them out")
    p.add_argument("--num-threads", type=int, default=0)
    p.add_argument("--label-subset", help="a label list: decide among these labels only (a model trained on "
                   "more labels than the test corpus has, e.g. pooled corpora); posteriors stay as they are")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    state = load_checkpoint(args.model)
    labels = list(state["labels"])
    data_cfg = state.get("config", {}).get("data", {})
    labelled = DataDir(args.data).has("utt2emo")
    text = uses_text(state["model_name"])
    if text and state.get("spm_model") is None:
        raise SerkitError(f"{args.model}: model '{state['model_name']}' reads transcripts but the checkpoint holds "
                          f"no sentencepiece model (spm_model); retrain it with this serkit")
    examples = load_examples(
        args.data, labels if labelled else None, cmvn=data_cfg.get("cmvn", True),
        norm_vars=data_cfg.get("norm_vars", True), unknown_labels=args.unknown_labels, text=text,
    )
    if text:
        text_cfg = from_dict(TextConfig, data_cfg.get("text", {}), section="text")
        examples, _ = tokenized(examples, Tokenizer.from_config(state["spm_model"], text_cfg))
    if examples[0].feats.shape[1] != int(state["input_dim"]):
        raise SerkitError(
            f"{args.data} has {examples[0].feats.shape[1]}-dim features but the model expects "
            f"{state['input_dim']}; extract the features with the model's conf/feats.yaml"
        )
    model = model_from_checkpoint(state)
    result = evaluate(model, examples, args.batch_size, torch.device("cpu"))
    if args.label_subset:
        result.hyps = _decide_among(result.posteriors, labels, read_label_list(args.label_subset), args.label_subset)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "utt2pred", {u: labels[h] for u, h in zip(result.utts, result.hyps)})
    with AtomicArkWriter(out / "posteriors.ark", out / "posteriors.scp") as writer:
        for utt, post in sorted(zip(result.utts, result.posteriors)):
            writer.write(utt, np.asarray(post, dtype=np.float32))
    write_label_list(out / "labels.txt", labels)
    silent = _silent_utterances(args.data, result.utts, state)
    (out / "silent").unlink(missing_ok=True)
    if silent:
        (out / "silent").write_text("".join(f"{u}\n" for u in silent))
        logger.warning("%d utterances are silent (below %.0f dBFS RMS), e.g. '%s': their predictions mean nothing; "
                       "listed in %s", len(silent), SILENCE_DBFS, silent[0], out / "silent")
    print(f"predict: {len(result.utts)} utterances of {args.data} -> {out / 'utt2pred'}"
          + (f" ({len(silent)} silent: {out / 'silent'})" if silent else ""))
    return 0


if __name__ == "__main__":
    cli.run(main, prog="predict")
