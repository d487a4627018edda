#!/usr/bin/env bash
# Usage: utils/validate_data_dir.sh [--no-emo] [--no-feats] <data-dir>
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir validate  "$@"
