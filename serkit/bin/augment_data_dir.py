"""Augmentation tools behind utils/{perturb_data_dir_speed,augment_data_dir,prepare_noise_dir}.sh."""
from __future__ import annotations

import logging
from typing import List

from serkit.augment.datadir import augment_data_dir, perturb_data_dir_speed, speed_tag
from serkit.augment.noise_dir import prepare_noise_dir
from serkit.errors import SerkitError
from serkit.utils import cli

logger = logging.getLogger("serkit")


def _numbers(text: str, option: str) -> List[float]:
    try:
        values = [float(x) for x in text.split(":") if x.strip()]
    except ValueError:
        raise SerkitError(f"{option}: expected colon-separated numbers like '20:10:0', got '{text}'") from None
    if not values:
        raise SerkitError(f"{option}: empty list")
    return values


def _bool(text: str) -> bool:
    if text not in ("true", "false"):
        raise SerkitError(f"expected 'true' or 'false', got '{text}'")
    return text == "true"


def _speed(args) -> int:
    n = perturb_data_dir_speed(args.factor, args.src, args.dst, args.sample_rate)
    print(f"perturb_data_dir_speed: wrote {n} utterances ({speed_tag(args.factor)}-*) to {args.dst}")
    return 0


def _augment(args) -> int:
    n = augment_data_dir(
        args.src, args.dst, noise_dir=args.noise_dir, snrs=_numbers(args.snrs, "--snrs"), rir_dir=args.rir_dir,
        sim_rir=_bool(args.sim_rir), rt60s=_numbers(args.rt60s, "--rt60s"), seed=args.seed, prefix=args.prefix,
        sample_rate=args.sample_rate,
    )
    print(f"augment_data_dir: wrote {n} utterances ({args.prefix}-*) to {args.dst}; choices in {args.dst}/utt2aug")
    return 0


def _prepare_noise(args) -> int:
    summary = prepare_noise_dir(args.folder, args.dst, test_fraction=args.test_fraction, seed=args.seed)
    print(f"prepare_noise_dir: {args.folder} -> {args.dst}/{{train,test}}\n{summary}")
    return 0


def main(argv: List[str]) -> int:
    p = cli.parser("Augmented copies of Kaldi data directories")
    sub = p.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("speed", help="speed-perturbed copy (ids prefixed sp<factor>-)")
    sp.add_argument("--sample-rate", type=int, help="working rate of the pipes (default 16000)")
    sp.add_argument("factor", type=float)
    sp.add_argument("src")
    sp.add_argument("dst")
    sp.set_defaults(fn=_speed)
    a = sub.add_parser("augment", help="noisy and/or reverberant copy (ids prefixed <prefix>-)")
    a.add_argument("--noise-dir", help="data directory of noise recordings (e.g. from prepare_noise_dir.sh)")
    a.add_argument("--snrs", default="20:15:10:5:0", help="colon-separated SNRs in dB to draw from")
    a.add_argument("--rir-dir", help="data directory of room impulse responses")
    a.add_argument("--sim-rir", nargs="?", const="true", default="false", help="true: simulated RIRs")
    a.add_argument("--rt60s", default="0.3:0.5:0.8", help="colon-separated RT60s (s) of simulated RIRs")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--prefix", default="noise", help="id prefix (followed by '-')")
    a.add_argument("--sample-rate", type=int, help="working rate of the pipes (default 16000)")
    a.add_argument("src")
    a.add_argument("dst")
    a.set_defaults(fn=_augment)
    n = sub.add_parser("prepare-noise", help="a folder of noise recordings -> <dst>/train and <dst>/test")
    n.add_argument("--test-fraction", type=float, default=0.3, help="fraction of each subfolder held out")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("folder")
    n.add_argument("dst")
    n.set_defaults(fn=_prepare_noise)
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    return args.fn(args)


if __name__ == "__main__":
    cli.run(main, prog="augment_data_dir")
