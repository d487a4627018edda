#!/usr/bin/env bash
# Compute Kaldi-format CMVN statistics for a data directory that has feats.scp.
#
# Usage: utils/compute_cmvn_stats.sh [--per-speaker] [--cmd <cmd>] <data-dir> [<log-dir> [<cmvn-dir>]]
#   default: global stats (every speaker's entry holds the whole directory's statistics);
#   --per-speaker: each speaker's own statistics (speaker normalisation).
# Writes <cmvn-dir>/cmvn_<name>.{ark,scp} and <data-dir>/cmvn.scp.
set -euo pipefail

per_speaker=false
cmd=run.pl
help_message=$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")

utils=$(cd "$(dirname "$0")" && pwd)
# --per-speaker is a flag, as Kaldi's --fake and --two-channel are here
args=()
for arg in "$@"; do
  if [ "$arg" = --per-speaker ]; then per_speaker=true; else args+=("$arg"); fi
done
set -- "${args[@]}"
. "$utils/parse_options.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2; exit 1
fi
data=${1%/}
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
[ "$cmd" = run.pl ] && cmd="$utils/run.pl"
. "$utils/lib/lock_data_dir.sh"
lock_data_dir "$data"
name=$(data_dir_name "$data")
mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd)
opt=""
$per_speaker && opt=--per-speaker
$cmd "$logdir/cmvn_${name}.log" \
  "$utils/lib/python.sh" -m serkit.bin.compute_cmvn_stats $opt "$data" "$cmvndir/cmvn_${name}.ark" "$cmvndir/cmvn_${name}.scp" \
  || { echo "$0: computing CMVN stats failed; see $logdir/cmvn_${name}.log" >&2; exit 1; }
cp "$cmvndir/cmvn_${name}.scp" "$data/cmvn.scp"
echo "$0: wrote $data/cmvn.scp ($($per_speaker && echo per-speaker || echo global) stats)"
