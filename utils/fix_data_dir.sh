#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh <data-dir>   (the tables before each run are kept in <data-dir>/.backup, then .backup.2, ...)
exec "$(dirname "$0")/lib/python.sh" -m serkit.bin.data_dir fix  "$@"
