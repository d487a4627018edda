#!/usr/bin/env bash
# Noise robustness on EmoDB: trains the augmentation variants on five of the ten
# leave-one-speaker-out folds (egs/emodb/conf/folds_robust5.txt) and scores every model on clean
# speech and on the same speech mixed with held-out noise (never used in training) at 20, 10, 5
# and 0 dB SNR; prints the table for egs/emodb/RESULTS.md.
#
#   bench/robustness_emodb.sh --noise-root DIR
#
# Run egs/emodb/run.sh first with the same --noise-root and --robust-snrs "20 10 5 0": its
# exp/train models are the "no augmentation" row (restricted to the same five folds).
set -euo pipefail
noise_root=
[ "${1:-}" = --noise-root ] && noise_root=$2
[ -n "$noise_root" ] || { echo "usage: $0 --noise-root DIR" >&2; exit 1; }
cd "$(dirname "$0")/../egs/emodb"
. ./path.sh
snap=$(mktemp /tmp/ser.XXXXXX.sh)
cp ser.sh "$snap"  # a fixed copy: this runs for hours
common=(--stage 1 --stop-stage 6 --folds file --fold-file conf/folds_robust5.txt --noise-root "$noise_root"
        --robust-snrs "20 10 5 0" --baseline false --train-jobs 2)
bash "$snap" "${common[@]}" --speed-perturb "0.9 1.1" --folds-dir data/folds_rb_sp --exp exp_robust/sp \
  --train-configs conf/robust/train_sp.yaml
bash "$snap" "${common[@]}" --noise-aug true --folds-dir data/folds_rb_noise --exp exp_robust/noise \
  --train-configs conf/robust/train_noise.yaml
bash "$snap" "${common[@]}" --speed-perturb "0.9 1.1" --noise-aug true --folds-dir data/folds_rb_both \
  --exp exp_robust/both --train-configs conf/robust/train_sp_noise.yaml
# spectral subtraction: a copy of the data with features made through conf/feats_ss.yaml
utils/copy_data_dir.sh data/all data/all_ss >/dev/null
bash "$snap" "${common[@]}" --data all_ss --feats-conf conf/feats_ss.yaml --folds-dir data/folds_rb_ss \
  --exp exp_robust/ss --train-configs conf/train.yaml
bash "$snap" "${common[@]}" --data all_ss --feats-conf conf/feats_ss.yaml --noise-aug true \
  --folds-dir data/folds_rb_ss_noise --exp exp_robust/ss_noise --train-configs conf/robust/train_noise.yaml
rm -f "$snap"
python ../../bench/robustness_table.py --recipe . --reference exp/train --folds 1,3,5,7,9 \
  "none=exp/train" "speed 0.9/1.1=exp_robust/sp/train_sp" "noise (offline copy)=exp_robust/noise/train_noise" \
  "speed + noise=exp_robust/both/train_sp_noise" "spectral subtraction=exp_robust/ss/train" \
  "spectral subtraction + noise=exp_robust/ss_noise/train_noise"
