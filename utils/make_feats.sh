#!/usr/bin/env bash
# Extract features for a data directory into Kaldi ark/scp files, in parallel jobs.
#
# Usage: utils/make_feats.sh [options] <data-dir> [<log-dir> [<feat-dir>]]
#   <log-dir> defaults to <data-dir>/log, <feat-dir> to <data-dir>/data.
# Options:
#   --nj <n>                  parallel jobs (default 4)
#   --cmd <cmd>               job runner: utils/run.pl (default) or utils/slurm.pl ...
#   --feat-type <type>        fbank | mfcc | logmel | spectrogram (default: the config's)
#   --config <yaml>           features config (default conf/feats.yaml if it exists)
#   --max-skip-fraction <f>   fail if more than this fraction of a job's utterances is unreadable (0.1)
# Writes <feat-dir>/raw_<type>_<name>.<n>.{ark,scp}, then <data-dir>/feats.scp and utt2num_frames.
set -euo pipefail

nj=4
cmd=run.pl
feat_type=
config=
max_skip_fraction=0.1
help_message=$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")

utils=$(cd "$(dirname "$0")" && pwd)
# parse_options.sh reserves --config for shell config files; here it names the features YAML.
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --config=*) config=${1#--config=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]}"
. "$utils/parse_options.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2; exit 1
fi
data=${1%/}
logdir=${2:-$data/log}
featdir=${3:-$data/data}
[ -z "$config" ] && [ -f conf/feats.yaml ] && config=conf/feats.yaml
[ "$cmd" = run.pl ] && cmd="$utils/run.pl"
py="$utils/lib/python.sh"
. "$utils/lib/lock_data_dir.sh"
lock_data_dir "$data"
name=$(data_dir_name "$data")

"$py" -m serkit.bin.data_dir validate --no-emo --no-feats "$data" >/dev/null
# Resolving the type also validates the config before any job starts.
feat_type=$("$py" -m serkit.bin.compute_feats ${config:+--config "$config"} ${feat_type:+--feat-type "$feat_type"} \
  --print-feat-type --write-config "$data/.feats_config.yaml.tmp")

# Stale tables would point into the arks we are about to replace: remove them first, so an
# interrupted run leaves no feats.scp at all rather than one with wrong offsets.
rm -f "$data/feats.scp" "$data/utt2num_frames" "$data/cmvn.scp" "$data/feats_type" "$data/feats_config.yaml"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd)

num_utts=$(wc -l < "$data/utt2spk")
[ "$nj" -gt "$num_utts" ] && nj=$num_utts
echo "$0: extracting $feat_type features of $num_utts utterances in $data with $nj jobs (logs in $logdir)"
"$py" -m serkit.bin.data_dir split --per-utt "$data" "$nj" >/dev/null
sdata=$data/split${nj}utt
start=$(date +%s.%N)
$cmd JOB=1:"$nj" "$logdir/make_${feat_type}_${name}.JOB.log" \
  "$py" -m serkit.bin.compute_feats ${config:+--config "$config"} --feat-type "$feat_type" \
    --num-threads 1 --max-skip-fraction "$max_skip_fraction" \
    --utt2num-frames "$featdir/raw_${feat_type}_${name}.JOB.utt2num_frames" \
    "$sdata/JOB" "$featdir/raw_${feat_type}_${name}.JOB.ark" "$featdir/raw_${feat_type}_${name}.JOB.scp" \
  || { echo "$0: feature extraction failed; see $logdir/make_${feat_type}_${name}.*.log" >&2; exit 1; }
end=$(date +%s.%N)

for n in $(seq "$nj"); do cat "$featdir/raw_${feat_type}_${name}.$n.scp"; done | sort -k1,1 > "$data/.feats.scp.tmp"
for n in $(seq "$nj"); do cat "$featdir/raw_${feat_type}_${name}.$n.utt2num_frames"; done | sort -k1,1 > "$data/.utt2num_frames.tmp"
mv "$data/.utt2num_frames.tmp" "$data/utt2num_frames"
mv "$data/.feats.scp.tmp" "$data/feats.scp"
echo "$feat_type" > "$data/feats_type"  # what the features are, for tools that care (e.g. online noise mixing)
mv "$data/.feats_config.yaml.tmp" "$data/feats_config.yaml"  # how they were made (training records it; export rebuilds it)
rm -rf "$sdata"

num_feats=$(wc -l < "$data/feats.scp")
echo "$0: wrote $data/feats.scp ($num_feats of $num_utts utterances) in $(awk "BEGIN{printf \"%.1f\", $end - $start}") s"
if [ "$num_feats" -lt "$num_utts" ]; then
  echo "$0: WARNING: $((num_utts - num_feats)) utterances could not be read (reasons in $logdir/make_${feat_type}_${name}.*.log);" \
       "run 'utils/fix_data_dir.sh $data' to drop them" >&2
fi
