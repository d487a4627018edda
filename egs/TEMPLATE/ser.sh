#!/usr/bin/env bash
# The shared body of every serkit recipe (stages 1-6), called by egs/<corpus>/run.sh after the
# corpus's own data preparation (stage 0), the way ESPnet recipes call their template script.
#
#   ser.sh [options]
#
# Stages:
#   1  features (conf/feats.yaml) and CMVN for the data sets
#   2  speaker-independent folds: data/folds/fold<k>/{train,dev,test}
#   3  training, one model per fold and training config
#   4  the classical baseline on the same folds (openSMILE functionals + SVM; skipped with a
#      message unless serkit[baseline] is installed, or with --baseline false)
#   5  scoring: predictions on each fold's test set, metrics, aggregation over folds
#   6  results: the recipe's RESULTS.md
#
# Options (defaults in brackets):
#   --stage/--stop-stage N      [1/100]
#   --nj N                      parallel feature and scoring jobs [2]
#   --train-jobs N              fold trainings run at once [2]; --train-threads N threads each [1]
#   --data NAME                 data set under data/ that folds are cut from [all]
#   --folds SCHEME              loso | leave-n-out | file | none [loso]
#   --fold-n N --fold-file F    for leave-n-out / file; --dev-speakers N [1] per fold (0: none)
#   --folds-dir DIR             where the folds go [data/folds]
#   --train-set/--dev-set/--test-set NAME   with --folds none [train/dev/test]
#   --feats-conf F              [conf/feats.yaml]
#   --cmvn TYPE                 per-speaker | global [per-speaker]
#   --train-configs "F ..."     training configs; one experiment each, exp/<basename> ["conf/train.yaml"]
#   --baseline true|false       run stage 4 [true]
#   --exp DIR                   [exp]; --results FILE [RESULTS.md]; --title TEXT
#   --run-command TEXT          the command that started the recipe, recorded in the results
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

stage=1
stop_stage=100
nj=2
train_jobs=2
train_threads=1
data=all
folds=loso
fold_n=2
fold_file=
dev_speakers=1
folds_dir=data/folds
train_set=train
dev_set=dev
test_set=test
feats_conf=conf/feats.yaml
cmvn=per-speaker
train_configs=conf/train.yaml
baseline=true
exp=exp
results=RESULTS.md
title=
run_command=
help_message=$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (ser.sh:${BASH_LINENO[0]}) $*"; }
die() { echo "ser.sh: ERROR: $*" >&2; exit 1; }
: "${train_cmd:=run.pl}"
: "${feat_cmd:=run.pl}"
case "$folds" in loso|leave-n-out|file|none) ;; *) die "--folds '$folds' is not loso, leave-n-out, file or none" ;; esac
case "$cmvn" in per-speaker|global) ;; *) die "--cmvn '$cmvn' is not per-speaker or global" ;; esac
for conf in $train_configs; do [ -f "$conf" ] || die "training config '$conf' not found"; done

if [ "$folds" = none ]; then sets="$train_set $dev_set $test_set"; else sets=$data; fi
fdir=$folds_dir

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  log "Stage 1: features ($feats_conf) and $cmvn CMVN for: $sets"
  cmvn_opt=""
  [ "$cmvn" = per-speaker ] && cmvn_opt=--per-speaker
  for x in $sets; do
    [ -d "data/$x" ] || die "data/$x does not exist; run stage 0 (data preparation) first"
    utils/make_feats.sh --nj "$nj" --cmd "$feat_cmd" --config "$feats_conf" "data/$x" "$exp/make_feats/$x" feats
    utils/fix_data_dir.sh "data/$x" >/dev/null  # drops utterances whose audio could not be read (logged above)
    utils/compute_cmvn_stats.sh $cmvn_opt "data/$x" "$exp/make_feats/$x" feats
    utils/validate_data_dir.sh "data/$x"
  done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  log "Stage 2: folds ($folds) in $fdir"
  rm -rf "$fdir"
  if [ "$folds" = none ]; then
    mkdir -p "$fdir/fold1"
    for pair in "train:$train_set" "dev:$dev_set" "test:$test_set"; do
      ln -s "../../${pair#*:}" "$fdir/fold1/${pair%%:*}"
    done
  else
    python -m serkit.bin.make_folds --scheme "$folds" --n "$fold_n" ${fold_file:+--fold-file "$fold_file"} \
      --dev-speakers "$dev_speakers" "data/$data" "$fdir"
  fi
fi
nfolds=$(ls -d $fdir/fold*/ 2>/dev/null | wc -l)

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  [ "$nfolds" -gt 0 ] || die "no folds in $fdir; run stage 2"
  for conf in $train_configs; do
    tag=$(basename "$conf" .yaml)
    log "Stage 3: training $tag ($conf) on $nfolds folds, $train_jobs at a time (logs: $exp/$tag/log/train.*.log)"
    mkdir -p "$exp/$tag"
    dim=$(python -c "import kaldiio,sys; print(next(iter(kaldiio.load_scp(sys.argv[1]).values())).shape[1])" "$fdir/fold1/train/feats.scp")
    classes=$(cut -d' ' -f2 "$fdir/fold1/train/utt2emo" | sort -u | wc -l)
    python -m serkit.bin.model_info --config "$conf" --input-dim "$dim" --num-classes "$classes" --json "$exp/$tag/model_info.json" >/dev/null
    dev_opt=""
    [ -d "$fdir/fold1/dev" ] && dev_opt="--dev-data $fdir/foldJOB/dev"
    start=$(date +%s)
    $train_cmd --max-jobs-run "$train_jobs" JOB=1:"$nfolds" "$exp/$tag/log/train.JOB.log" \
      python -m serkit.bin.train --config "$conf" --train-data "$fdir/foldJOB/train" $dev_opt \
        --exp-dir "$exp/$tag/foldJOB" --resume --override train.num_threads="$train_threads"
    echo $(( $(date +%s) - start )) > "$exp/$tag/train_wall_seconds"
  done
fi

tags=""
for conf in $train_configs; do tags="$tags $(basename "$conf" .yaml)"; done
base_tag=baseline_svm

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ] && [ "$baseline" = true ]; then
  if python -c "import opensmile, sklearn" 2>/dev/null; then
    log "Stage 4: baseline: openSMILE ComParE_2016 functionals + SVM on the same folds ($exp/$base_tag)"
    if [ "$folds" = none ]; then
      utils/combine_data.sh "data/${train_set}_all" "data/$train_set" "data/$dev_set" "data/$test_set" >/dev/null
      data=${train_set}_all
    fi
    python -m serkit.bin.baseline_svm "data/$data" "$fdir" "$exp/$base_tag"
  else
    log "Stage 4: baseline skipped: it needs opensmile and scikit-learn (pip install -e '.[baseline]', or tools/install.sh --extras baseline)"
  fi
fi
[ -f "$exp/$base_tag/model_info.json" ] && [ "$baseline" = true ] && tags="$tags $base_tag"

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  for tag in $tags; do
    log "Stage 5: scoring $tag on the test set of each fold"
    predict=""
    [ "$tag" != "$base_tag" ] && predict="python -m serkit.bin.predict --num-threads 1 --model $exp/$tag/foldJOB/final.pt \
      --data $fdir/foldJOB/test --out-dir $exp/$tag/foldJOB/decode_test &&"
    $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/score.JOB.log" \
      $predict python -m serkit.bin.compute_metrics --name foldJOB "$fdir/foldJOB/test/utt2emo" \
        "$exp/$tag/foldJOB/decode_test/utt2pred" "$exp/$tag/foldJOB/scores"
    python -m serkit.bin.aggregate_scores --title "$tag" "$exp/$tag/results" \
      $(for k in $(seq "$nfolds"); do echo "$exp/$tag/fold$k/scores"; done) >/dev/null
    echo "$tag (UA | WA | macro-F1, mean ± std):$(grep 'mean ± std' "$exp/$tag/results/summary.md" | cut -d'|' -f3-5)"
  done
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stage 6: results -> $results"
  python -m serkit.bin.write_results --exp "$exp" --folds-dir "$fdir" --protocol "$folds" \
    ${title:+--title "$title"} --command "${run_command:-$0 $*}" --out "$results" $tags >/dev/null
  log "wrote $results"
fi
