#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh <data-dir>   (originals kept in <data-dir>/.backup)
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir fix  "$@"
