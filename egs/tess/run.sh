#!/usr/bin/env bash
# TESS (Toronto emotional speech set): 7 emotions, 2 speakers, 2800 utterances;
# train on one speaker, test on the other, both directions (conf/folds_cross_speaker.txt).
#
#   ./run.sh --tess-root DIR [--stage N] [--stop-stage N] [--train-configs "conf/a.yaml ..."]
#
# DIR is the release: DIR/OAF_angry/OAF_back_angry.wav ... (spellings vary between copies;
# data preparation maps them and logs every mapping).
# Stage 0 prepares data/all; stages 1-8 are the shared recipe body (../TEMPLATE/ser.sh:
# augmentation, features, folds, training, baseline, scoring, results); options after -- go
# to it, e.g.
#   ./run.sh --tess-root DIR -- --speed-perturb "0.9 1.1" --noise-root NOISE --robust-snrs "20 10 5 0"
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

tess_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
prepare_opts=""   # options of local/prepare_data.py
. utils/parse_options.sh

if [ -z "$tess_root" ]; then
  echo "$0: --tess-root DIR is required (the TESS release: DIR/OAF_angry/OAF_back_angry.wav ...)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: tess data preparation from $tess_root into data/all"
  python local/prepare_data.py $prepare_opts "$tess_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds file --fold-file conf/folds_cross_speaker.txt --train-configs "$train_configs" \
    --title "TESS, 7 emotions, cross-speaker" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
