#!/usr/bin/env bash
# serkit demo recipe: a synthetic emotional speech corpus (no download, no system package),
# taken end to end on CPU in a few minutes.
#
#   ./run.sh [--stage N] [--stop-stage N] [--nj N] [--seed N]
#
# Stages:
#   0  synthesize the corpus; speaker-independent train/dev/test data directories
#   1  features (conf/feats.yaml) and per-speaker CMVN
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

stage=0
stop_stage=100
nj=2
seed=777
corpus=corpus       # the synthesized audio goes here
feats_conf=conf/feats.yaml
help_message=$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (${0##*/}:${BASH_LINENO[0]}) $*"; }

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  log "Stage 0: synthesize the demo corpus into $corpus/ and make data/{train,dev,test}"
  python local/make_corpus.py --seed "$seed" --nj "$nj" "$corpus" data
  for x in train dev test; do
    utils/validate_data_dir.sh --no-feats data/$x
  done
fi

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: features ($feats_conf) and per-speaker CMVN"
  for x in train dev test; do
    utils/make_feats.sh --nj "$nj" --cmd "$feat_cmd" --config "$feats_conf" data/$x exp/make_feats/$x feats
    utils/compute_cmvn_stats.sh --per-speaker data/$x exp/make_feats/$x feats
    utils/validate_data_dir.sh data/$x
  done
fi

log "Done. Data directories: $(pwd)/data/{train,dev,test}; logs: $(pwd)/exp/make_feats"
