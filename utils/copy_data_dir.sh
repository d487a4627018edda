#!/usr/bin/env bash
# Usage: utils/copy_data_dir.sh [--utt-prefix P] [--spk-prefix P] [--utt-suffix S] [--spk-suffix S] <src> <dst>
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir copy  "$@"
