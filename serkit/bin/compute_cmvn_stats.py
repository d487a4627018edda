"""Accumulate Kaldi-format CMVN statistics over ``feats.scp``, one matrix per speaker.

Global (default): every speaker's entry holds the statistics of the whole directory, so
consumers always look stats up through utt2spk. ``--per-speaker``: each speaker's own stats
(speaker normalisation, the usual choice for speaker-independent emotion recognition).
"""
from __future__ import annotations

import logging
from typing import Dict, List

import numpy as np

from serkit.data.datadir import DataDir
from serkit.errors import DataDirError
from serkit.feats.ark import AtomicArkWriter, load_matrix
from serkit.feats.cmvn import accumulate
from serkit.utils import cli
from serkit.utils.progress import progress

logger = logging.getLogger("serkit.compute_cmvn_stats")


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--per-speaker", action="store_true", help="stats per speaker (default: global)")
    p.add_argument("data_dir")
    p.add_argument("ark")
    p.add_argument("scp")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    d = DataDir(args.data_dir)
    feats = d.table("feats.scp")
    utt2spk = d.table("utt2spk")
    missing = [u for u in utt2spk if u not in feats]
    if missing:
        raise DataDirError(
            f"{d.file('feats.scp')}: {len(missing)} utterances have no features (e.g. '{missing[0]}'); "
            f"run 'utils/fix_data_dir.sh {d.path}' first"
        )
    stats: Dict[str, np.ndarray] = {}
    for utt in progress(list(utt2spk), "cmvn", unit="utt"):
        key = utt2spk[utt] if args.per_speaker else "global"
        stats[key] = accumulate([load_matrix(feats[utt], f"{feats.where(utt)} ('{utt}')")], stats.get(key))
    speakers = sorted(set(utt2spk.values()))
    with AtomicArkWriter(args.ark, args.scp) as writer:
        for spk in speakers:
            writer.write(spk, stats[spk if args.per_speaker else "global"])
    mode = "per-speaker" if args.per_speaker else "global"
    frames = int(sum(s[0, -1] for s in stats.values()))
    logger.info("%s CMVN stats for %d speakers (%d frames) in %s", mode, len(speakers), frames, args.scp)
    return 0


if __name__ == "__main__":
    cli.run(main, prog="compute_cmvn_stats")
