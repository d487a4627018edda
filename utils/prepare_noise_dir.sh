#!/usr/bin/env bash
# Usage: utils/prepare_noise_dir.sh [--test-fraction 0.3] [--seed N] <noise-folder> <dst-dir>
#   Writes <dst-dir>/train and <dst-dir>/test (split by recording, stratified by top-level
#   subfolder). <dst-dir>/test is HELD-OUT noise for robustness tests: never train with it.
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.augment_data_dir prepare-noise  "$@"
