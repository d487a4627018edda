#!/usr/bin/env bash
# EmoDB (Berlin Database of Emotional Speech): 7 emotions, 10 speakers, 535 utterances;
# 10-fold leave-one-speaker-out training and scoring of the parallel CRNN and its comparisons.
#
#   ./run.sh --emodb-root DIR [--stage N] [--stop-stage N] [--train-configs "conf/a.yaml ..."]
#
# DIR is the original release (DIR/wav/03a01Fa.wav ...). Stage 0 prepares data/all; stages 1-8
# are the shared recipe body (../TEMPLATE/ser.sh: augmentation, features, folds, training,
# baseline, scoring, results); options after -- go to it, e.g.
#   ./run.sh --emodb-root DIR -- --noise-root NOISE --robust-snrs "20 10 5 0" --export-configs conf/train.yaml
# With a noise folder (-- --noise-root NOISE) the CRNN and the SVM train on every utterance plus two
# noisy copies at 10, 5 or 0 dB (RESULTS.md, issue 14); -- --noise-copies N --noise-snrs a:b:.. overrides.
# Configs that fine-tune a model pre-trained on other corpora (train.init_from
# ../cross_corpus/exp/pretrain_emodb/final.pt, e.g. conf/tuning/t11_pretrained_fixed_ensemble3.yaml)
# have ./pretrain.sh train it first from --savee-root and --crema-d-root, unless it exists.
# Pruned and distilled models (conf/train_pruned.yaml, conf/train_student.yaml) start from exp/train:
# bench/deployment_emodb.sh trains, exports and compares them.
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

emodb_root=
savee_root=       # other corpora, for configs that fine-tune a model pre-trained on them
crema_d_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs="conf/train.yaml conf/train_crnn.yaml conf/train_seed_crnn.yaml"
speed_perturb=""   # e.g. "0.9 1.1": speed-perturbed training copies (speed also shifts pitch)
. utils/parse_options.sh

if [ -z "$emodb_root" ]; then
  echo "$0: --emodb-root DIR is required (the EmoDB release: DIR/wav/03a01Fa.wav ...)" >&2
  exit 1
fi

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: EmoDB data preparation from $emodb_root into data/all"
  python local/prepare_data.py "$emodb_root" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  ./pretrain.sh --corpus emodb --train-configs "$train_configs" --nj "$nj" --train-jobs "$train_jobs" \
    --emodb-root "$emodb_root" --savee-root "$savee_root" --crema-d-root "$crema_d_root"
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds loso --dev-speakers 0 --train-configs "$train_configs" --speed-perturb "$speed_perturb" \
    --noise-copies 2 --noise-snrs 10:5:0 \
    --title "EmoDB, 7 emotions, leave-one-speaker-out" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
