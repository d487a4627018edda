#!/usr/bin/env bash
# Scores each member of a seed ensemble (train.ensemble: N) as a model of its own, beside the
# ensemble, so that an ensemble is judged against the mean of its seeds in the same run.
#
#   bench/ensemble_members.sh --recipe emodb --tag train [--exp exp] [--folds-dir data/folds] [--nj 2]
#
# Runs in egs/<recipe> after the recipe's stage 6 scored exp/<tag> (fold<k>/member<i>/final.pt).
# Writes exp/<tag>_member<i>/ (decode_test, scores, results/summary.json) and, where the recipe
# trained the baseline SVM, exp/<tag>_member<i>+svm/ (posteriors averaged, as the recipe's
# <config>+svm); prints one line per member and the mean over members.
set -euo pipefail
recipe=
tag=train
exp=exp
fdir=data/folds
nj=2
while [ $# -gt 0 ]; do
  case "$1" in
    --recipe) recipe=$2 ;;
    --tag) tag=$2 ;;
    --exp) exp=$2 ;;
    --folds-dir) fdir=$2 ;;
    --nj) nj=$2 ;;
    *) echo "$0: unknown option '$1'" >&2; exit 1 ;;
  esac
  shift 2
done
[ -n "$recipe" ] || { echo "usage: $0 --recipe NAME [--tag TAG] [--exp DIR] [--folds-dir DIR]" >&2; exit 1; }
cd "$(dirname "$0")/../egs/$recipe"
. ./path.sh
. ./cmd.sh
nfolds=$(ls -d "$exp/$tag"/fold*/ 2>/dev/null | wc -l || true)
[ "$nfolds" -gt 0 ] || { echo "$0: no $exp/$tag/fold*/: train and score the ensemble first" >&2; exit 1; }
nmembers=$(ls -d "$exp/$tag/fold1"/member*/ 2>/dev/null | wc -l || true)
[ "$nmembers" -gt 1 ] || { echo "$0: $exp/$tag/fold1 has no member*/: not an ensemble (train.ensemble: N)" >&2; exit 1; }
ua() { python -c 'import json,sys; s=json.load(open(sys.argv[1]))["mean"]["ua"]; print(f"{100*s:.1f}")' "$1"; }
aggregate() {  # <exp dir> <title>
  $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$1/log/score.JOB.log" \
    python -m serkit.bin.compute_metrics --name foldJOB "$fdir/foldJOB/test/utt2emo" \
      "$1/foldJOB/decode_test/utt2pred" "$1/foldJOB/scores"
  python -m serkit.bin.aggregate_scores --title "$2" "$1/results" \
    $(for k in $(seq "$nfolds"); do echo "$1/fold$k/scores"; done) >/dev/null
}
alone=()
fused=()
for i in $(seq "$nmembers"); do
  out=$exp/${tag}_member$i
  $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$out/log/predict.JOB.log" \
    python -m serkit.bin.predict --num-threads 1 --model "$exp/$tag/foldJOB/member$i/final.pt" \
      --data "$fdir/foldJOB/test" --out-dir "$out/foldJOB/decode_test"
  aggregate "$out" "${tag}_member$i"
  alone+=("$(ua "$out/results/summary.json")")
  line="member $i: UA ${alone[-1]}"
  if [ -f "$exp/baseline_svm/fold1/decode_test/posteriors.scp" ]; then
    $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$out+svm/log/fuse.JOB.log" \
      python -m serkit.bin.late_fusion --weight 0.5 --first-test "$out/foldJOB/decode_test" \
        --second-test "$exp/baseline_svm/foldJOB/decode_test" --test-ref "$fdir/foldJOB/test/utt2emo" --out-dir "$out+svm/foldJOB"
    aggregate "$out+svm" "${tag}_member$i+svm"
    fused+=("$(ua "$out+svm/results/summary.json")")
    line="$line, fused with the SVM ${fused[-1]}"
  fi
  echo "$line"
done
mean() { python -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print(f"{sum(v)/len(v):.1f}")' "$@"; }
echo "mean of the $nmembers members: UA $(mean "${alone[@]}")${fused:+, fused $(mean "${fused[@]}")}"
echo "ensemble ($exp/$tag): UA $(ua "$exp/$tag/results/summary.json")$( [ -f "$exp/$tag+svm/results/summary.json" ] && echo ", fused $(ua "$exp/$tag+svm/results/summary.json")")"
