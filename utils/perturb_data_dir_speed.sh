#!/usr/bin/env bash
# Usage: utils/perturb_data_dir_speed.sh [--sample-rate 16000] <factor> <src-dir> <dst-dir>
#   A speed-perturbed copy (duration AND pitch change): ids prefixed sp<factor>- (e.g. sp0.9-),
#   wav.scp entries perturb on read, utt2dur/segments scaled; feats.scp and cmvn.scp not copied.
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.augment_data_dir speed  "$@"
