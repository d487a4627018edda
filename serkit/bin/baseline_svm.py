"""The classical baseline on a recipe's folds: openSMILE functionals + RBF SVM.

    python -m serkit.bin.baseline_svm [--feature-set ComParE_2016] <data-dir> <folds-dir> <exp-dir>

Extracts functionals once for ``<data-dir>`` (cached under ``<exp-dir>/functionals``),
standardises them per speaker, and for each ``<folds-dir>/fold<k>`` picks C on the dev speakers
(folds without dev speakers: on speaker-independent inner folds of the training set), refits on train+dev and writes ``<exp-dir>/fold<k>/decode_test/utt2pred``, and class posteriors
for fusion with the neural models (``posteriors.ark``/``.scp`` in the order of ``labels.txt``, as
serkit.bin.predict writes them: a softmax of the SVM's decision values, its temperature fitted on
the same held-out speakers; serkit.bin.late_fusion). ``--jobs N`` extracts with N processes and fits N folds at once.

``--test-variant NAME=DATA_DIR`` (repeatable) also scores each fold's SVM on ``fold<k>/test_NAME``
(a noisy or reverberated copy of its test set, serkit.bin.fold_variants), with functionals of
``DATA_DIR`` standardised per (noisy) speaker, into ``fold<k>/decode_test_NAME``.

``--train-copy PREFIX=DATA_DIR`` (repeatable) trains every fold's SVM on augmented copies as well
(multi-condition training: ser.sh's noisy training copies, ids ``PREFIX<utt>``): each training
utterance's copy joins its fold's training set, standardised per copied speaker as the noisy test
sets are, and kept with its source speaker in the inner folds that choose C.

``--denoise-config FEATS_YAML`` extracts every set's functionals (training, copies, test variants) from
spectrally subtracted audio, with the ``denoise:`` section of a feature config (e.g. a recipe's
conf/feats_ss.yaml), as that config does before the neural models' front end.

``--functionals SCP`` (repeatable) takes functionals extracted beforehand (serkit.bin.extract_functionals,
e.g. one archive per corpus when ``<data-dir>`` joins utterances of several corpora, as the
cross-corpus recipe's pairs do) instead of extracting them for ``<data-dir>``: every utterance of
``<data-dir>`` must have a vector in one of them.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from serkit.baseline.opensmile_svm import (
    RbfKernel, extract_functionals, predict_more, require_available, standardise_per_speaker, train_and_predict,
)
from serkit.data.datadir import DataDir
from serkit.data.table import write_label_list, write_table
from serkit.errors import ConfigError, SerkitError
from serkit.feats.ark import AtomicArkWriter, load_scp
from serkit.feats.config import load_feature_config
from serkit.feats.denoise import DenoiseConfig
from serkit.utils import cli

logger = logging.getLogger("serkit.baseline_svm")


def write_decode(out: Path, decisions, classes, posteriors) -> None:
    """utt2pred, labels.txt and posteriors.ark/scp, as serkit.bin.predict writes them."""
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "utt2pred", decisions)
    write_label_list(out / "labels.txt", classes)
    with AtomicArkWriter(out / "posteriors.ark", out / "posteriors.scp") as writer:
        for utt, post in sorted(posteriors, key=lambda p: p[0]):
            writer.write(utt, post)


def add_train_copies(specs, feats, utt2emo, utt2spk, fdir: Path, args):
    """Functionals of each ``PREFIX=DATA_DIR`` copy added to ``feats`` and ``utt2emo``; the speaker
    groups of the inner folds with each copy under its source speaker."""
    feats, utt2emo, groups = dict(feats), dict(utt2emo), dict(utt2spk)
    for spec in specs:
        prefix, sep, cdir = spec.partition("=")
        if not sep or not prefix or not cdir:
            raise SerkitError(f"--train-copy '{spec}': expected PREFIX=DATA_DIR (e.g. noise-=data/all_noise)")
        name = prefix.strip("-_") or "copy"
        cfeats = extract_functionals(cdir, fdir / f"{args.feature_set}_{name}.ark", fdir / f"{args.feature_set}_{name}.scp",
                                     args.feature_set, jobs=args.jobs, denoise=args.denoise)
        c2spk = dict(DataDir(cdir).table("utt2spk"))
        if not args.no_speaker_norm:
            cfeats = standardise_per_speaker(cfeats, c2spk)
        used = 0
        for utt, vec in cfeats.items():
            src = utt[len(prefix):] if utt.startswith(prefix) else None
            if src in utt2emo:
                feats[utt], utt2emo[utt], groups[utt] = vec, utt2emo[src], utt2spk[src]
                used += 1
        if not used:
            raise SerkitError(f"--train-copy {spec}: no utterance of {cdir} is '{prefix}<utt>' for an utterance "
                              f"of the data directory; check the prefix")
        logger.info("training copies %s: %d utterances (%d of %s not matched)", prefix, used, len(cfeats) - used, cdir)
    return feats, utt2emo, groups


def given_functionals(scps: List[str], d: DataDir) -> Dict[str, np.ndarray]:
    """The vectors of ``d``'s utterances from archives extracted beforehand; an error names the first missing one."""
    found: Dict[str, np.ndarray] = {}
    for scp in scps:
        if not Path(scp).is_file():
            raise SerkitError(f"--functionals {scp}: no such file; extract it with serkit.bin.extract_functionals")
        found.update(load_scp(scp))
    missing = [u for u in d.utts if u not in found]
    if missing:
        raise SerkitError(f"{d.path}: {len(missing)} utterances (e.g. '{missing[0]}') have no functionals in "
                          f"{' '.join(scps)}; extract them from the data directory that holds them")
    return {u: found[u] for u in d.utts}


def denoise_of(path: Optional[str], option: str = "--denoise-config") -> Optional[DenoiseConfig]:
    """The ``denoise:`` section of the feature config ``path`` (None without one); an error, naming
    ``option``, when the file is missing or malformed or does not enable spectral subtraction, so
    that the option never silently does nothing."""
    if not path:
        return None
    try:
        denoise = load_feature_config(path).denoise
    except ConfigError as err:  # names the file and line
        raise ConfigError(f"{option} {err}") from None
    if not denoise.enabled:
        raise SerkitError(f"{option} {path}: its denoise: section does not say 'enabled: true' "
                          "(see conf/feats_ss.yaml); give a config that denoises, or drop the option")
    return denoise


def main(argv: List[str]) -> int:
    p = cli.parser(__doc__)
    p.add_argument("--feature-set", default="ComParE_2016")
    p.add_argument("--no-speaker-norm", action="store_true", help="skip per-speaker standardisation")
    p.add_argument("--jobs", type=int, default=1, help="processes extracting functionals, folds fitted at once [1]")
    p.add_argument("--test-variant", action="append", default=[], metavar="NAME=DATA_DIR",
                   help="also score fold<k>/test_NAME, functionals from DATA_DIR (repeatable)")
    p.add_argument("--train-copy", action="append", default=[], metavar="PREFIX=DATA_DIR",
                   help="augmented copies (ids PREFIX<utt>) that join each fold's training set (repeatable)")
    p.add_argument("--functionals", action="append", default=[], metavar="SCP",
                   help="functionals extracted beforehand (serkit.bin.extract_functionals), instead of extracting (repeatable)")
    p.add_argument("--denoise-config", metavar="FEATS_YAML",
                   help="functionals of spectrally subtracted audio, with this feature config's denoise: section")
    p.add_argument("data_dir")
    p.add_argument("folds_dir")
    p.add_argument("exp_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    require_available("the baseline")
    args.denoise = denoise_of(args.denoise_config)
    if args.denoise and args.functionals:
        raise SerkitError("--denoise-config cannot apply to --functionals extracted beforehand (their audio was not "
                          "denoised here); give one of the two")
    exp = Path(args.exp_dir)
    start = time.perf_counter()
    fdir = exp / "functionals"
    d = DataDir(args.data_dir)
    if args.functionals:
        feats = given_functionals(args.functionals, d)
    else:
        feats = extract_functionals(args.data_dir, fdir / f"{args.feature_set}.ark", fdir / f"{args.feature_set}.scp",
                                    args.feature_set, jobs=args.jobs, denoise=args.denoise)
    utt2emo, utt2spk = dict(d.table("utt2emo")), dict(d.table("utt2spk"))
    if not args.no_speaker_norm:
        feats = standardise_per_speaker(feats, utt2spk)
    feats, utt2emo, groups = add_train_copies(args.train_copy, feats, utt2emo, utt2spk, fdir, args)
    variants = {}
    for spec in args.test_variant:
        name, sep, vdir = spec.partition("=")
        if not sep or not name or not vdir:
            raise SerkitError(f"--test-variant '{spec}': expected NAME=DATA_DIR (e.g. snr5=data/all_snr5)")
        vfeats = extract_functionals(vdir, fdir / f"{args.feature_set}_{name}.ark", fdir / f"{args.feature_set}_{name}.scp",
                                     args.feature_set, jobs=args.jobs, denoise=args.denoise)
        variants[name] = vfeats if args.no_speaker_norm else standardise_per_speaker(vfeats, dict(DataDir(vdir).table("utt2spk")))
    extract_seconds = time.perf_counter() - start
    copies = [spec.partition("=")[::2] for spec in args.train_copy]
    kernel = RbfKernel(feats)  # squared distances of all utterances, once for every fold and C
    logger.info("RBF kernel distances of %d utterances in %.0f s", len(feats), time.perf_counter() - start - extract_seconds)
    folds = sorted((f for f in Path(args.folds_dir).glob("fold*") if f.is_dir()), key=lambda f: int(f.name[4:]))
    if not folds:
        raise SerkitError(f"no fold<k> directories in {args.folds_dir}; run the recipe's fold stage first")
    chosen = {}

    def run_fold(fold: Path):
        sets = {s: (DataDir(fold / s).utts if (fold / s).is_dir() else []) for s in ("train", "dev", "test")}
        train = sets["train"] + [p + u for p, _ in copies for u in sets["train"] if p + u in feats]
        result = train_and_predict(kernel, utt2emo, train, sets["dev"], sets["test"], groups)
        for name, vfeats in variants.items():
            vtest = DataDir(fold / f"test_{name}")  # an error naming the folder when fold_variants did not make it
            missing = [u for u in vtest.utts if u not in vfeats]
            if missing:
                raise SerkitError(f"{vtest.path}: no functionals for {len(missing)} utterances (e.g. '{missing[0]}') in "
                                  f"the --test-variant {name} data; run fix_data_dir.sh on it")
            decisions, posteriors = predict_more(kernel, result, np.stack([vfeats[u] for u in vtest.utts]))
            write_decode(exp / fold.name / f"decode_test_{name}", dict(zip(vtest.utts, decisions)), result.classes,
                         zip(vtest.utts, posteriors))
        return result, sets["test"]

    # folds in threads: libsvm releases the GIL while it fits
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for fold, (result, test) in zip(folds, pool.map(run_fold, folds)):
            write_decode(exp / fold.name / "decode_test", result.decisions, result.classes, zip(test, result.posteriors))
            chosen[fold.name] = {"C": result.c, "temperature": round(result.temperature, 4), "chosen_on": result.selection,
                                 "train_utterances": len(result.fit_utts)}
            logger.info("%s: C=%g, posterior temperature %.3g (chosen on %s), %d test utterances", fold.name, result.c,
                        result.temperature, result.selection, len(result.decisions))
    info = {"model": f"openSMILE {args.feature_set} + RBF SVM", "feature_set": args.feature_set,
            "speaker_norm": not args.no_speaker_norm, "train_copies": args.train_copy,
            "denoise_config": args.denoise_config or "", "per_fold": chosen, "test_variants": sorted(variants),
            "seconds": time.perf_counter() - start, "extract_seconds": extract_seconds}
    (exp / "model_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"baseline_svm: {len(folds)} folds scored in {info['seconds']:.0f} s; predictions under {exp}/fold*/decode_test")
    return 0


if __name__ == "__main__":
    cli.run(main, prog="baseline_svm")
