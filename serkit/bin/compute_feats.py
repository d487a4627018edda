"""Compute features for one (split) data directory into a Kaldi ark/scp pair.

Used by utils/make_feats.sh, one call per job. Utterances whose audio cannot be read are
skipped with a logged reason and counted, as Kaldi's compute-*-feats do; the job fails only
when more than ``--max-skip-fraction`` of them fail.
"""
from __future__ import annotations

import logging
import time
from typing import List


from serkit.data.datadir import DataDir
from serkit.data.table import write_table
from serkit.errors import AudioError, SerkitError
from serkit.feats.ark import AtomicArkWriter
from serkit.feats.config import load_feature_config
from serkit.utils import cli
from serkit.utils.config import dump_yaml
from serkit.utils.progress import progress

logger = logging.getLogger("serkit.compute_feats")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--config", help="features YAML (conf/feats.yaml); defaults when omitted")
    p.add_argument("--feat-type", default="", help="override the config's feat_type")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--max-skip-fraction", type=float, default=0.1)
    p.add_argument("--print-feat-type", action="store_true", help="print the resolved feature type and exit")
    p.add_argument("--write-config", help="with --print-feat-type: also write the resolved config (YAML) here")
    p.add_argument("--utt2num-frames", help="also write '<utt> <frames>' here")
    p.add_argument("data_dir", nargs="?")
    p.add_argument("ark", nargs="?")
    p.add_argument("scp", nargs="?")
    args = p.parse_args(argv)
    if args.print_feat_type:  # resolve (and so validate) the config before any job starts
        config = load_feature_config(args.config, args.feat_type)
        if args.write_config:
            dump_yaml(config, args.write_config)
        print(config.feat_type)
        return 0
    if not (args.data_dir and args.ark and args.scp):
        p.error("expected <data-dir> <ark> <scp>")
    cli.setup_logging(args.verbose)
    import torch  # after the cheap paths above: importing torch takes seconds

    torch.set_num_threads(args.num_threads)
    config = load_feature_config(args.config, args.feat_type)
    from serkit.feats.frontends import build_frontend

    frontend = build_frontend(config)
    data = DataDir(args.data_dir)
    loader = data.audio_loader(config.sample_rate)
    utts = data.utts
    frames, skipped, seconds = {}, [], 0.0
    start = time.perf_counter()
    with AtomicArkWriter(args.ark, args.scp) as writer:
        for utt in progress(utts, f"{config.feat_type} {data.path.name}", unit="utt"):
            try:
                samples = loader.load(utt)
                feats = frontend(samples)
            except AudioError as err:
                logger.warning("skipping utterance '%s': %s", utt, err)
                skipped.append(utt)
                continue
            seconds += len(samples) / config.sample_rate
            writer.write(utt, feats)
            frames[utt] = feats.shape[0]
        if len(skipped) > args.max_skip_fraction * len(utts):
            raise SerkitError(
                f"{len(skipped)} of {len(utts)} utterances in {data.path} could not be read (see the warnings "
                f"above); fix wav.scp, or raise --max-skip-fraction to skip them"
            )
    if args.utt2num_frames:
        write_table(args.utt2num_frames, {u: str(n) for u, n in frames.items()})
    elapsed = time.perf_counter() - start
    rtf = elapsed / seconds if seconds else float("nan")
    logger.info(
        "%s: %d utterances, %.1f s of audio in %.2f s (RTF %.4f), %d skipped, dim %d",
        data.path, len(frames), seconds, elapsed, rtf, len(skipped), frontend.dim,
    )
    return 0


if __name__ == "__main__":
    cli.run(main, prog="compute_feats")
