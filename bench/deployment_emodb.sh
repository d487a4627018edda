#!/usr/bin/env bash
# Compression on EmoDB: prunes (conf/train_pruned.yaml: 50% magnitude pruning of exp/train's
# model, fine-tuned) and distils (conf/train_student.yaml: a quarter-size parallel CRNN taught by
# exp/train's model) on a subset of run.sh's folds with the same names (default
# conf/folds_first2.txt: folds 1 and 2), exports them (ONNX, dynamic INT8), scores the exports
# from the audio, and writes the size / latency / UA table into egs/emodb/RESULTS.md (its
# "deployment" section, kept when the recipe rewrites the file).
#
#   bench/deployment_emodb.sh [--fold-file conf/folds_first2.txt]
#
# Run egs/emodb/run.sh first with --export-configs conf/train.yaml: its exp/train models are the
# teachers and the fp32 / INT8 reference rows.
set -euo pipefail
fold_file=conf/folds_first2.txt
[ "${1:-}" = --fold-file ] && fold_file=$2
cd "$(dirname "$0")/../egs/emodb"
. ./path.sh
[ -f "$fold_file" ] || { echo "$0: fold file '$fold_file' not found (relative to egs/emodb)" >&2; exit 1; }
[ -f exp/train/fold1/export/export_summary.json ] || {
  echo "$0: exp/train/fold1/export is missing: run ./run.sh ... -- --export-configs conf/train.yaml first" >&2; exit 1; }
folds=$(awk '!/^#/ && NF { sub(/^fold/, "", $1); printf "%s%s", sep, $1; sep = "," }' "$fold_file")
start=$(date +%s)
snap=$(mktemp /tmp/ser.XXXXXX.sh)
cp ser.sh "$snap"
configs="conf/train_pruned.yaml conf/train_student.yaml"
bash "$snap" --stage 3 --stop-stage 7 --folds file --fold-file "$fold_file" --folds-dir data/folds_deploy \
  --exp exp_deploy --baseline false --train-jobs 2 --train-configs "$configs" --export-configs "$configs"
rm -f "$snap"
minutes=$(( ($(date +%s) - start + 59) / 60 ))
note="## Deployment: fp32, INT8, pruned and distilled (bench/deployment_emodb.sh)

Folds $folds of run.sh (\`$fold_file\`); UA (%) of each fold's exported ONNX model scored from the
audio with serkit-infer (mean ± std over those folds); size, parameters and latency of fold 1's
files (onnxruntime, one thread, 3 s input, milliseconds per second of audio). Pruned: 50% of the
weights of exp/train's model zeroed by magnitude, then fine-tuned 10 epochs (zeros still take space
in ONNX; gzip shows what they save). Student: conf/train_student.yaml trained with exp/train's
model as teacher (KD, temperature 4). Measured $(date +%Y-%m-%d) ($minutes min on $(nproc) CPU cores) with:

\`\`\`bash
bench/deployment_emodb.sh --fold-file $fold_file
\`\`\`"
python ../../bench/deployment_table.py --recipe . --folds "$folds" --update RESULTS.md --note "$note" \
  "fp32|exp/train|exp/train/fold1/export|model.onnx" \
  "INT8 dynamic|exp/train_int8|exp/train/fold1/export|model_int8.onnx" \
  "pruned 50%|exp_deploy/train_pruned|exp_deploy/train_pruned/fold1/export|model.onnx" \
  "pruned 50%, INT8|exp_deploy/train_pruned_int8|exp_deploy/train_pruned/fold1/export|model_int8.onnx" \
  "distilled student|exp_deploy/train_student|exp_deploy/train_student/fold1/export|model.onnx" \
  "distilled student, INT8|exp_deploy/train_student_int8|exp_deploy/train_student/fold1/export|model_int8.onnx"
