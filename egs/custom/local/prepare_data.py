#!/usr/bin/env python3
"""A user's own labelled recordings -> data/all (serkit.data.custom_corpus does the work).

    local/prepare_data.py [--manifest FILE] [--speaker-regex RE] [--label-map FILE] <corpus-root> <data-dir>

Without --manifest, <corpus-root> holds one folder per label (<root>/<Label>/.../<file>); with it,
<corpus-root> is ignored and the manifest (CSV or TSV with a header: path, label [, speaker, gender,
text]) lists the files. Writes <data-dir>/{wav.scp,utt2spk,spk2utt,utt2emo,...}, rejected.txt
(everything not used, with its reason), and NO_SPEAKERS when no speaker is known.
"""
import logging
import sys
from pathlib import Path

from serkit.data import custom_corpus as cc
from serkit.data.corpus import PrepReport, write_data_dir
from serkit.data.labels import drop_unusable
from serkit.utils import cli

logger = logging.getLogger("custom")


def main(argv):
    p = cli.parser(__doc__, prog="custom/prepare_data")
    p.add_argument("--manifest", help="CSV/TSV with a header: path, label [, speaker, gender, text]")
    p.add_argument("--speaker-regex", help="the speaker from the path under the root: group 'spk' or the first group")
    p.add_argument("--label-map", help="'<your label> <canonical label>' per line, for labels serkit does not know")
    p.add_argument("corpus_root")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    cli.setup_logging(args.verbose)
    labels = cc.label_spellings(cc.load_label_mapping(args.label_map) if args.label_map else None)
    speakers = cc.SpeakerRule.from_text(args.speaker_regex)
    report = PrepReport()
    if args.manifest:
        utts, unmapped, speaker_column = cc.from_manifest(args.manifest, labels, speakers, report)
    else:
        utts, unmapped = cc.from_label_folders(args.corpus_root, labels, speakers, report)
        speaker_column = False
    labels.log_mappings(logger)
    cc.report_unmapped(unmapped)
    utts = drop_unusable(utts, report)
    out = Path(args.data_dir)
    write_data_dir(out, utts, report)
    has_speakers = speaker_column or speakers.pattern is not None
    marker = out / cc.NO_SPEAKERS
    if has_speakers:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text("no speaker information: every utterance is its own speaker, so the folds are "
                          "speaker-dependent and the results optimistic\n")
        logger.warning("NO SPEAKER INFORMATION (no speaker column, no --speaker-regex): every utterance counts as "
                       "its own speaker; the folds are speaker-DEPENDENT and the results OPTIMISTIC")
    from serkit.data.corpus import summary

    print(f"prepare_data: {out}: {summary(utts)}; {len(report.rejected)} files not used"
          + (f" (listed in {out}/rejected.txt)" if report.rejected else ""))
    return 0


if __name__ == "__main__":
    cli.run(main, sys.argv[1:], prog="custom/prepare_data")
