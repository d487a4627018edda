#!/usr/bin/env bash
# Usage: utils/subset_data_dir.sh [--utt-list F | --spk-list F | [--first] ] <src> [<num-utts>] <dst>
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir subset  "$@"
