#!/usr/bin/env bash
# CREMA-D: 6 emotions, 91 actors, 7442 utterances;
# 5 speaker-independent folds of consecutive actors, no dev speakers (conf/folds_5_nodev.txt;
# conf/folds_5.txt: the same test groups with the next group as dev).
#
#   ./run.sh --crema-d-root DIR [--stage N] [--stop-stage N] [--train-configs "conf/a.yaml ..."]
#
# DIR is the release: DIR/AudioWAV/1001_DFA_ANG_XX.wav ... (VideoDemographics.csv beside it
# gives the genders when present).
# Stage 0 prepares data/all; stages 1-8 are the shared recipe body (../TEMPLATE/ser.sh:
# augmentation, features, folds, training, baseline, scoring, results); options after -- go
# to it, e.g.
#   ./run.sh --crema-d-root DIR -- --speed-perturb "0.9 1.1" --noise-root NOISE --robust-snrs "20 10 5 0"
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

crema_d_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
prepare_opts=""   # options of local/prepare_data.py
. utils/parse_options.sh

if [ -z "$crema_d_root" ]; then
  echo "$0: --crema-d-root DIR is required (the CREMA-D release: DIR/AudioWAV/1001_DFA_ANG_XX.wav ...)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: crema_d data preparation from $crema_d_root into data/all"
  python local/prepare_data.py $prepare_opts "$crema_d_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds file --fold-file conf/folds_5_nodev.txt --train-configs "$train_configs" \
    --title "CREMA-D, 6 emotions, 5 actor folds" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
