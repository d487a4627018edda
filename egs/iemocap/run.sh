#!/usr/bin/env bash
# IEMOCAP: 4 classes (neutral, happy+excited, angry, sad), 5 sessions;
# leave-one-session-out without dev speakers (conf/folds_sessions_nodev.txt); transcripts go into data/all/text.
#
#   ./run.sh --iemocap-root DIR [--stage N] [--stop-stage N] [--train-configs "conf/a.yaml ..."]
#
# DIR is the release: DIR/Session1/sentences/wav/<dialog>/<utt>.wav, labels from
# DIR/Session*/dialog/EmoEvaluation, transcripts from DIR/Session*/dialog/transcriptions.
# Stage 0 prepares data/all; stages 1-8 are the shared recipe body (../TEMPLATE/ser.sh:
# augmentation, features, folds, training, baseline, scoring, results); options after -- go
# to it, e.g.
#   ./run.sh --iemocap-root DIR -- --speed-perturb "0.9 1.1" --noise-root NOISE --robust-snrs "20 10 5 0"
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

iemocap_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
prepare_opts=""   # options of local/prepare_data.py
. utils/parse_options.sh

if [ -z "$iemocap_root" ]; then
  echo "$0: --iemocap-root DIR is required (the IEMOCAP release: DIR/Session1 ... DIR/Session5)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: iemocap data preparation from $iemocap_root into data/all"
  python local/prepare_data.py $prepare_opts "$iemocap_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds file --fold-file conf/folds_sessions_nodev.txt --train-configs "$train_configs" \
    --title "IEMOCAP, 4 classes, leave-one-session-out" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
