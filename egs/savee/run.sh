#!/usr/bin/env bash
# SAVEE (Surrey Audio-Visual Expressed Emotion), audio: 7 emotions, 4 male speakers, 480 utterances;
# 4-fold leave-one-speaker-out training and scoring of the parallel CRNN and its comparisons.
#
#   ./run.sh --savee-root DIR --emodb-root DIR --crema-d-root DIR [--stage N] [--stop-stage N]
#            [--train-configs "conf/a.yaml ..."]
#
# DIR holds the audio (flat DIR/DC_a01.flac, or the original DIR/AudioData/DC/a01.wav).
# conf/train.yaml fine-tunes a model pre-trained on other corpora (issue 13's T11, TUNING.md):
# before training, ./pretrain.sh has ../cross_corpus train it from --emodb-root and --crema-d-root
# (any of the other corpus roots ../cross_corpus knows will do) unless it exists; without other
# corpora, --train-configs conf/train_scratch.yaml trains from scratch.
# Stage 0 prepares data/all; stages 1-8 are the shared recipe body (../TEMPLATE/ser.sh:
# augmentation, features, folds, training, baseline, scoring, results); options after -- go
# to it, e.g.
#   ./run.sh --savee-root DIR -- --speed-perturb "0.9 1.1" --noise-root NOISE --robust-snrs "20 10 5 0"
# With a noise folder both systems train on every utterance plus a noisy copy at 10, 5 or 0 dB; the
# CRNN fused with the SVM (train+svm) is then the best system here (RESULTS.md, issue 14).
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

savee_root=
emodb_root=       # the other corpora, for the pre-training model conf/train.yaml fine-tunes
crema_d_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
. utils/parse_options.sh

if [ -z "$savee_root" ]; then
  echo "$0: --savee-root DIR is required (the SAVEE audio: DIR/DC_a01.flac ... or DIR/AudioData/DC/a01.wav ...)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: SAVEE data preparation from $savee_root into data/all"
  python local/prepare_data.py "$savee_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  ./pretrain.sh --corpus savee --train-configs "$train_configs" --nj "$nj" --train-jobs "$train_jobs" \
    --savee-root "$savee_root" --emodb-root "$emodb_root" --crema-d-root "$crema_d_root"
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds loso --dev-speakers 0 --train-configs "$train_configs" \
    --title "SAVEE, 7 emotions, leave-one-speaker-out" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
