#!/usr/bin/env bash
# serkit demo recipe: a synthetic emotional speech corpus (no download, no system package),
# taken end to end on CPU in a few minutes.
#
#   ./run.sh [--stage N] [--stop-stage N] [--nj N] [--seed N] [--train-configs "conf/a.yaml ..."]
#
# Stage 0 synthesizes the corpus and a speaker-independent train/dev/test split; stages 1-8 are
# the shared recipe body (../TEMPLATE/ser.sh): augmentation, features and CMVN, the split as one
# fold, training, baseline, scoring, RESULTS.md. Options after -- go to ser.sh.
# Then local/run_multimodal.sh: the transcripts (data/*/text) alone and fused with the audio
# (late, early, intermediate fusion) -> RESULTS_multimodal.md.
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

stage=0
stop_stage=100
nj=2
seed=777
corpus=corpus       # the synthesized audio goes here
train_configs=conf/train.yaml
. utils/parse_options.sh

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: synthesize the demo corpus into $corpus/ and make data/{train,dev,test}"
  python local/make_corpus.py --seed "$seed" --nj "$nj" "$corpus" data
  for x in train dev test; do
    utils/validate_data_dir.sh --no-feats data/$x
  done
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" \
    --folds none --train-set train --dev-set dev --test-set test \
    --train-jobs 1 --train-threads "$nj" --train-configs "$train_configs" \
    --title "Demo corpus (synthetic, 4 emotions), speaker-independent test set" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
