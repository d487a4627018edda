#!/usr/bin/env bash
# RAVDESS (speech), 8 emotions, 24 actors, 1440 utterances;
# 6-fold speaker-independent training and scoring (actors 1-4, 5-8, ... 21-24; conf/folds_6x4_nodev.txt, no dev speakers).
#
#   ./run.sh --ravdess-root DIR [--stage N] [--stop-stage N] [--train-configs "conf/a.yaml ..."]
#
# DIR is the release: DIR/Actor_01/03-01-05-01-02-01-12.wav ... (optionally under
# DIR/Audio_Speech_Actors_01-24/). --prepare-opts "--merge-calm" merges calm into neutral,
# "--include-song" adds the sung files.
# Stage 0 prepares data/all; stages 1-8 are the shared recipe body (../TEMPLATE/ser.sh:
# augmentation, features, folds, training, baseline, scoring, results); options after -- go
# to it, e.g.
#   ./run.sh --ravdess-root DIR -- --speed-perturb "0.9 1.1" --noise-root NOISE --robust-snrs "20 10 5 0"
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

ravdess_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
prepare_opts=""   # options of local/prepare_data.py
. utils/parse_options.sh

if [ -z "$ravdess_root" ]; then
  echo "$0: --ravdess-root DIR is required (the RAVDESS release: DIR/Actor_01/03-01-05-01-02-01-12.wav ...)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: ravdess data preparation from $ravdess_root into data/all"
  python local/prepare_data.py $prepare_opts "$ravdess_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds file --fold-file conf/folds_6x4_nodev.txt --train-configs "$train_configs" \
    --title "RAVDESS speech, 8 emotions, 6 folds of 4 actors" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
