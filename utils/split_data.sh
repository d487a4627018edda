#!/usr/bin/env bash
# Usage: utils/split_data.sh [--per-utt] <data-dir> <num-parts>  (writes <data-dir>/split<N>[utt]/<k>)
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir split  "$@"
