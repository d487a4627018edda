#!/usr/bin/env bash
# Usage: utils/augment_data_dir.sh [--noise-dir <noise-data-dir>] [--snrs "20:15:10:5:0"]
#          [--rir-dir <rir-data-dir> | --sim-rir true] [--rt60s "0.3:0.5:0.8"] [--seed N]
#          [--prefix noise] <src-dir> <dst-dir>
#   A noisy and/or reverberant copy: ids prefixed <prefix>-, per-utterance choices drawn from
#   (seed, id), visible in each wav.scp entry and in <dst-dir>/utt2aug.
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.augment_data_dir augment  "$@"
