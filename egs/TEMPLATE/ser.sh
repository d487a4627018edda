#!/usr/bin/env bash
# The shared body of every serkit recipe (stages 1-8), called by egs/<corpus>/run.sh after the
# corpus's own data preparation (stage 0), the way ESPnet recipes call their template script.
#
#   ser.sh [options]
#
# Stages (and the tools they run: utils/*.sh, python -m serkit.bin.<tool>):
#   1  augmentation as data directories: speed-perturbed and noisy copies of the training data
#      (noisy copies by default when --noise-root names a noise folder: multi-condition training
#      of the models and the SVM); noisy test sets (held-out noise) for robustness tests
#      [utils/prepare_noise_dir.sh, perturb_data_dir_speed.sh, augment_data_dir.sh]
#   2  features (conf/feats.yaml) and CMVN [utils/make_feats.sh, compute_cmvn_stats.sh]
#   3  speaker-independent folds: data/folds/fold<k>/{train,dev,test}, plus train_aug and
#      test_snr<N> when stage 1 made them [serkit.bin.make_folds, fold_variants]
#   4  training, one model per fold and training config [serkit.bin.train]
#   5  the classical baseline on the same folds (openSMILE functionals + SVM; skipped with a
#      message unless serkit[baseline] is installed, or with --baseline false), also on the noisy
#      and reverberated test sets [serkit.bin.baseline_svm]
#   6  scoring: each fold's test set (and noisy versions), metrics, aggregation over folds
#      [serkit.bin.predict, compute_metrics, aggregate_scores]
#   7  export (with --export-configs, needs serkit[deploy]): each fold's model to ONNX and dynamic
#      INT8; the INT8 models scored from the audio with serkit-infer; size and latency measured
#      [serkit.bin.export, infer, compute_metrics]
#   8  results: the recipe's RESULTS.md [serkit.bin.write_results]
# A rerun skips what is up to date: trained configs (every fold's final.pt newer than the
# config), scored ones (results newer than every fold's final.pt), exported ones likewise.
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
#   --speed-perturb "F ..."     speed factors for training copies, e.g. "0.9 1.1" [none]
#   --noise-root DIR            a folder of noise recordings, split into data/noise/{train,test} [none]
#   --noise-aug auto|true|false noisy training copies with the train noise; auto: true with --noise-root
#                               (multi-condition training, issue 14: the robust default), false without [auto]
#   --noise-snrs "a:b:..."      SNRs (dB) each noisy copy draws from (--noise-aug); low SNRs held up better in
#                               noise at no clean cost on EmoDB and CREMA-D (issue 14) [10:5:0]
#   --noise-copies N            noisy training copies per utterance with --noise-aug, each with its own noise
#                               files and SNRs (data/<set>_noise, _noise2, ...) [1]
#   --robust-snrs "N ..."       noisy test sets with the held-out test noise, e.g. "20 10 5 0" [none]
#   --robust-rt60s "T ..."      reverberated test sets (simulated room impulse responses), e.g. "0.3 0.6 0.9" [none]
#   --train-extra "DIR ..."     other corpora (features, CMVN, canonical labels: serkit.bin.pool_corpora's
#                               train) added to every fold's training set (multi-corpus training) [none]
#   --train-configs "F ..."     training configs; one experiment each, exp/<basename> ["conf/train.yaml"]
#   --baseline true|false       run stage 5 [true]
#   --svm-train-aug auto|true|false  the baseline SVM also trains on stage 1's training copies (--noise-aug,
#                               --speed-perturb): multi-condition functionals; auto: as --noise-aug [auto]
#   --svm-noise-copies N|all    with --svm-train-aug, the SVM trains on the first N noisy copies only (the
#                               models on all --noise-copies) [all]
#   --svm-denoise-conf FILE     the SVM's functionals from spectrally subtracted audio, with the denoise:
#                               section of this feature config (e.g. conf/feats_ss.yaml) [none]
#   --fusion true|false         stage 6 also scores each model fused with the baseline, posteriors averaged
#                               (<config>+svm) [true; needs the baseline]
#   --export-configs "F ..."    training configs whose models stage 7 exports [none]
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
speed_perturb=
noise_root=
noise_aug=auto
train_extra=
noise_snrs=10:5:0
noise_copies=1
robust_snrs=
robust_rt60s=
train_configs=conf/train.yaml
baseline=true
svm_train_aug=auto
svm_noise_copies=all
svm_denoise_conf=
fusion=true
export_configs=
exp=exp
results=RESULTS.md
title=
run_command=
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (ser.sh:${BASH_LINENO[0]}) $*"; }
die() { echo "ser.sh: ERROR: $*" >&2; exit 1; }
# folds_newer <dir> <file> <source>: every fold's <dir>/fold<k>/<file> exists and is newer than <source>
folds_newer() { local k; for k in $(seq "$nfolds"); do [ "$1/fold$k/$2" -nt "$3" ] || return 1; done; }
# newer_than_folds <target> <dir> <file>: <target> exists and is newer than every fold's <dir>/fold<k>/<file>
score_folds() {  # <tag> <variant> <decode folder in fold<k>>: metrics of each fold, their mean and std
  $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$1/log/score$2.JOB.log" \
    python -m serkit.bin.compute_metrics --name foldJOB "$fdir/foldJOB/test$2/utt2emo" \
      "$exp/$1/foldJOB/$3/utt2pred" "$exp/$1/foldJOB/scores$2"
  python -m serkit.bin.aggregate_scores --title "$1$2" "$exp/$1/results$2" \
    $(for k in $(seq "$nfolds"); do echo "$exp/$1/fold$k/scores$2"; done) >/dev/null
  echo "$1$2 (UA | WA | macro-F1, mean ± std):$(grep 'mean ± std' "$exp/$1/results$2/summary.md" | cut -d'|' -f3-5)"
}
newer_than_folds() { local k; for k in $(seq "$nfolds"); do [ "$1" -nt "$2/fold$k/$3" ] || return 1; done; }
: "${train_cmd:=run.pl}"
: "${feat_cmd:=run.pl}"
case "$folds" in loso|leave-n-out|file|none) ;; *) die "--folds '$folds' is not loso, leave-n-out, file or none" ;; esac
case "$cmvn" in per-speaker|global) ;; *) die "--cmvn '$cmvn' is not per-speaker or global" ;; esac
for conf in $train_configs; do [ -f "$conf" ] || die "training config '$conf' not found"; done
# a bad --svm-denoise-conf fails now, not at stage 5 after the training
[ -z "$svm_denoise_conf" ] || [ "$baseline" != true ] || python -c 'import sys
from serkit.bin.baseline_svm import denoise_of
from serkit.errors import SerkitError
try:
    denoise_of(sys.argv[1], "--svm-denoise-conf")
except SerkitError as err:
    sys.exit(f"ser.sh: ERROR: {err}")' "$svm_denoise_conf" || exit 1
case "$noise_aug" in auto) noise_aug=$([ -n "$noise_root" ] && echo true || echo false) ;; true|false) ;;
  *) die "--noise-aug '$noise_aug' is not auto, true or false" ;; esac
case "$svm_train_aug" in auto) svm_train_aug=$noise_aug ;; true|false) ;;
  *) die "--svm-train-aug '$svm_train_aug' is not auto, true or false" ;; esac
[ -n "$noise_root" ] && log "noise from $noise_root; noisy training copies: for the models (--noise-aug) $noise_aug," \
  "for the SVM (--svm-train-aug) $svm_train_aug; give the same options to a rerun"
{ [ "$noise_aug" = true ] || [ -n "$robust_snrs" ]; } && [ -z "$noise_root" ] && [ ! -d data/noise/train ] \
  && die "--noise-aug and --robust-snrs need --noise-root DIR (a folder of noise recordings)"

# Which directory gets augmented copies (the training data) and noisy copies (the test data).
if [ "$folds" = none ]; then sets="$train_set $dev_set $test_set"; aug_src=$train_set; test_src=$test_set
else sets=$data; aug_src=$data; test_src=$data; fi
train_aug=""      # <dir>:<speaker prefix> of each augmented copy
for f in $speed_perturb; do train_aug="$train_aug data/${aug_src}_sp$f:sp$f-"; done
case "$noise_copies" in [1-9]|[1-9][0-9]) ;; *) die "--noise-copies '$noise_copies' is not a count from 1 to 99" ;; esac
[ "$svm_noise_copies" != all ] && { [ "$noise_aug" != true ] || [ "$svm_train_aug" != true ]; } && \
  log "WARNING: --svm-noise-copies $svm_noise_copies is ignored: the SVM trains on noisy copies only with --noise-aug true and --svm-train-aug true"
[ "$svm_noise_copies" = all ] && svm_noise_copies=$noise_copies
case "$svm_noise_copies" in [0-9]|[1-9][0-9]) ;; *) die "--svm-noise-copies '$svm_noise_copies' is not 'all' or a count" ;; esac
[ "$svm_noise_copies" -le "$noise_copies" ] || die "--svm-noise-copies $svm_noise_copies is more than --noise-copies $noise_copies"
svm_aug=$train_aug  # the SVM's copies (--svm-train-aug): the speed copies and the first --svm-noise-copies noisy ones
noise_sfx() { [ "$1" = 1 ] || echo "$1"; }  # copy k's name: data/<set>_noise, _noise2, _noise3 ...
if [ "$noise_aug" = true ]; then
  for k in $(seq 1 "$noise_copies"); do
    spec="data/${aug_src}_noise$(noise_sfx $k):noise$(noise_sfx $k)-"
    train_aug="$train_aug $spec"
    [ "$k" -le "$svm_noise_copies" ] && svm_aug="$svm_aug $spec"
  done
fi
[ "$svm_train_aug" = true ] || svm_aug=""
[ "$noise_aug" = true ] && [ "$svm_train_aug" = true ] && log "noisy training copies: the models $noise_copies," \
  "the SVM $svm_noise_copies (--svm-noise-copies)"
test_variants=""  # <name>=<dir>:<speaker prefix>
for snr in $robust_snrs; do test_variants="$test_variants snr$snr=data/${test_src}_snr$snr:snr$snr-"; done
for rt in $robust_rt60s; do test_variants="$test_variants rt$rt=data/${test_src}_rt$rt:rt$rt-"; done
variant_names=$(for spec in $test_variants; do echo "_${spec%%=*}"; done)  # _snr10 _rt0.6 ...
fdir=$folds_dir

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ] && [ -n "$train_aug$test_variants" ]; then
  log "Stage 1: augmentation (utils/perturb_data_dir_speed.sh, augment_data_dir.sh): ${train_aug:-no training copies}; ${test_variants:-no noisy test sets}"
  [ -n "$noise_root" ] && utils/prepare_noise_dir.sh --test-fraction 0.3 --seed 1 "$noise_root" data/noise
  for f in $speed_perturb; do
    utils/perturb_data_dir_speed.sh "$f" "data/$aug_src" "data/${aug_src}_sp$f"
  done
  if [ "$noise_aug" = true ]; then  # copy k draws noise files and SNRs with seed k
    for k in $(seq 1 "$noise_copies"); do
      utils/augment_data_dir.sh --noise-dir data/noise/train --snrs "$noise_snrs" --seed "$k" --prefix "noise$(noise_sfx $k)" \
        "data/$aug_src" "data/${aug_src}_noise$(noise_sfx $k)"
    done
  fi
  for snr in $robust_snrs; do  # held-out noise only: never seen in training
    utils/augment_data_dir.sh --noise-dir data/noise/test --snrs "$snr" --seed 2 --prefix "snr$snr" \
      "data/$test_src" "data/${test_src}_snr$snr"
  done
  for rt in $robust_rt60s; do  # waveform reverberation with simulated rooms of this RT60
    utils/augment_data_dir.sh --sim-rir true --rt60s "$rt" --seed 3 --prefix "rt$rt" \
      "data/$test_src" "data/${test_src}_rt$rt"
  done
fi
extra_sets=$(for spec in $train_aug ${test_variants//=/ }; do case "$spec" in data/*) s=${spec%%:*}; echo "${s#data/}";; esac; done)
[ -d data/noise/train ] && extra_sets="$extra_sets noise/train"

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  log "Stage 2: features ($feats_conf, utils/make_feats.sh) and $cmvn CMVN (utils/compute_cmvn_stats.sh) for: $sets" $extra_sets
  cmvn_opt=""
  [ "$cmvn" = per-speaker ] && cmvn_opt=--per-speaker
  for x in $sets $extra_sets; do
    [ -d "data/$x" ] || die "data/$x does not exist; run stage 0 (data preparation) or stage 1 first"
    utils/make_feats.sh --nj "$nj" --cmd "$feat_cmd" --config "$feats_conf" "data/$x" "$exp/make_feats/$x" feats
    utils/fix_data_dir.sh "data/$x" >/dev/null  # drops utterances whose audio could not be read (logged above)
    [ "$x" = noise/train ] && continue
    utils/compute_cmvn_stats.sh $cmvn_opt "data/$x" "$exp/make_feats/$x" feats
    utils/validate_data_dir.sh "data/$x"
  done
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  log "Stage 3: folds ($folds, serkit.bin.make_folds) in $fdir"
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
  if [ -n "$train_aug$test_variants$train_extra" ]; then
    python -m serkit.bin.fold_variants --folds-dir "$fdir" --train-aug $train_aug --test-variant $test_variants \
      --train-extra $train_extra
  fi
fi
nfolds=$( (ls -d $fdir/fold*/ 2>/dev/null || true) | wc -l)  # none: ls fails, which pipefail would make silent
[ "$nfolds" -gt 0 ] || [ "$stop_stage" -lt 4 ] || die "no folds in $fdir; run stage 3 (--stage 3) first"
train_name=train
[ -n "$train_aug$train_extra" ] && train_name=train_aug

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  for conf in $train_configs; do
    tag=$(basename "$conf" .yaml)
    if [ -f "$exp/$tag/train_wall_seconds" ] && folds_newer "$exp/$tag" final.pt "$conf"; then
      log "Stage 4: $tag is trained on all $nfolds folds (newer than $conf); skipped (delete $exp/$tag to train again)"
      continue
    fi
    log "Stage 4: training $tag ($conf, serkit.bin.train) on $nfolds folds ($train_name), $train_jobs at a time (logs: $exp/$tag/log/train.*.log)"
    mkdir -p "$exp/$tag"
    dim=$(python -c "import kaldiio,sys; print(next(iter(kaldiio.load_scp(sys.argv[1]).values())).shape[1])" "$fdir/fold1/train/feats.scp")
    classes=$(cut -d' ' -f2 "$fdir/fold1/train/utt2emo" | sort -u | wc -l)
    python -m serkit.bin.model_info --config "$conf" --input-dim "$dim" --num-classes "$classes" --json "$exp/$tag/model_info.json" >/dev/null
    dev_opt=""
    [ -d "$fdir/fold1/dev" ] && dev_opt="--dev-data $fdir/foldJOB/dev"
    start=$(date +%s)
    $train_cmd --max-jobs-run "$train_jobs" JOB=1:"$nfolds" "$exp/$tag/log/train.JOB.log" \
      python -m serkit.bin.train --config "$conf" --train-data "$fdir/foldJOB/$train_name" $dev_opt \
        --exp-dir "$exp/$tag/foldJOB" --resume --override train.num_threads="$train_threads"
    echo $(( $(date +%s) - start )) > "$exp/$tag/train_wall_seconds"
  done
fi

tags=""
for conf in $train_configs; do tags="$tags $(basename "$conf" .yaml)"; done
base_tag=baseline_svm

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ] && [ "$baseline" = true ]; then
  if python -c "import opensmile, sklearn" 2>/dev/null; then
    log "Stage 5: baseline (serkit.bin.baseline_svm): openSMILE ComParE_2016 functionals${svm_denoise_conf:+ of spectrally subtracted audio ($svm_denoise_conf)} + SVM on the same folds ($exp/$base_tag)"
    base_data=$data
    if [ "$folds" = none ]; then
      base_data=${train_set}_all
      utils/combine_data.sh "data/$base_data" "data/$train_set" "data/$dev_set" "data/$test_set" >/dev/null
    fi
    svm_current=true  # scored on every test variant asked for, trained on the copies asked for
    for v in $variant_names; do [ -f "$exp/$base_tag/fold1/decode_test$v/utt2pred" ] || svm_current=false; done
    svm_copies=$(for spec in $svm_aug; do echo "${spec#*:}=${spec%%:*}"; done)  # --train-copy PREFIX=DIR
    # an earlier SVM that trained on other copies (--svm-noise-copies, --svm-train-aug) or denoised
    # otherwise (--svm-denoise-conf) is trained again
    [ -f "$exp/$base_tag/model_info.json" ] && ! python -c 'import json, sys
info = json.load(open(sys.argv[1]))
sys.exit(info.get("denoise_config", "") != sys.argv[2] or sorted(info.get("train_copies", [])) != sorted(sys.argv[3:]))' \
      "$exp/$base_tag/model_info.json" "$svm_denoise_conf" $svm_copies && svm_current=false
    if [ "$exp/$base_tag/results/summary.json" -nt "$fdir/folds.txt" ] && $svm_current; then
      log "Stage 5: $exp/$base_tag is newer than the folds; skipped (delete it to run again)"
    else
      # and on each noisy / reverberated copy of the test sets (--robust-snrs, --robust-rt60s)
      python -m serkit.bin.baseline_svm --jobs "$nj" "data/$base_data" "$fdir" "$exp/$base_tag" \
        $(for spec in $test_variants; do v=${spec#*=}; echo "--test-variant ${spec%%=*}=${v%%:*}"; done) \
        $(for c in $svm_copies; do echo "--train-copy $c"; done) ${svm_denoise_conf:+--denoise-config "$svm_denoise_conf"}
    fi
  else
    log "Stage 5: baseline skipped: it needs opensmile and scikit-learn (tools/install.sh --extras baseline)"
  fi
fi
[ -f "$exp/$base_tag/model_info.json" ] && [ "$baseline" = true ] && tags="$tags $base_tag"

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  for tag in $tags; do
    for variant in "" $variant_names; do
      [ "$tag" = "$base_tag" ] && [ ! -f "$exp/$base_tag/fold1/decode_test$variant/utt2pred" ] && continue  # an older baseline: clean only
      if [ "$tag" != "$base_tag" ] && newer_than_folds "$exp/$tag/results$variant/summary.json" "$exp/$tag" final.pt; then
        log "Stage 6: $tag$variant is scored (newer than every fold's final.pt); skipped"
        continue
      fi
      log "Stage 6: scoring $tag on the test set$variant of each fold (logs: $exp/$tag/log/score$variant.*.log)"
      if [ "$tag" != "$base_tag" ]; then  # the baseline wrote its decisions in stage 5
        $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/predict$variant.JOB.log" \
          python -m serkit.bin.predict --num-threads 1 --model "$exp/$tag/foldJOB/final.pt" \
            --data "$fdir/foldJOB/test$variant" --out-dir "$exp/$tag/foldJOB/decode_test$variant"
      fi
      score_folds "$tag" "$variant" "decode_test$variant"
    done
  done
fi
# <config>+svm: each model's test posteriors averaged with the baseline's (fixed weight 0.5: the SVM
# is refitted on train+dev, so no held-out dev posteriors are left to tune a weight on)
fused_tags=""
if [ "$fusion" = true ] && [[ " $tags " == *" $base_tag "* ]] && folds_newer "$exp/$base_tag" decode_test/posteriors.scp "$fdir/folds.txt"; then
  for tag in $tags; do [ "$tag" = "$base_tag" ] || fused_tags="$fused_tags $tag+svm"; done
fi
if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  for tag in $fused_tags; do
    src=${tag%+svm}
    for variant in "" $variant_names; do  # the noisy / reverberated test sets where the baseline scored them
      [ -f "$exp/$base_tag/fold1/decode_test$variant/posteriors.scp" ] || continue
      if newer_than_folds "$exp/$tag/results$variant/summary.json" "$exp/$src" "decode_test$variant/posteriors.scp" \
          && newer_than_folds "$exp/$tag/results$variant/summary.json" "$exp/$base_tag" "decode_test$variant/posteriors.scp"; then
        log "Stage 6: $tag$variant is scored (newer than both inputs of every fold); skipped"
        continue
      fi
      log "Stage 6: fusing $src with $base_tag$variant, posteriors averaged (serkit.bin.late_fusion --weight 0.5; logs: $exp/$tag/log/)"
      fused=${variant:+fused$variant/}  # late_fusion writes <out-dir>/decode_test
      $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/fuse$variant.JOB.log" \
        python -m serkit.bin.late_fusion --weight 0.5 --first-test "$exp/$src/foldJOB/decode_test$variant" \
          --second-test "$exp/$base_tag/foldJOB/decode_test$variant" --test-ref "$fdir/foldJOB/test$variant/utt2emo" \
          --out-dir "$exp/$tag/foldJOB/$fused"
      score_folds "$tag" "$variant" "${fused}decode_test"
    done
    printf '{"model": "%s + openSMILE SVM, posteriors averaged"}\n' "$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$exp/$src/model_info.json")" \
      > "$exp/$tag/model_info.json"
  done
fi
tags="$tags$fused_tags"

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ] && [ -n "$export_configs" ]; then
  for conf in $export_configs; do
    tag=$(basename "$conf" .yaml)
    if newer_than_folds "$exp/${tag}_int8/results/summary.json" "$exp/$tag" final.pt; then
      log "Stage 7: $tag is exported and its INT8 models scored (newer than every fold's final.pt); skipped"
      continue
    fi
    log "Stage 7: exporting $tag (serkit.bin.export: ONNX, INT8) and scoring the INT8 models (serkit.bin.infer; logs: $exp/$tag/log/export.*.log)"
    $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/export.JOB.log" \
      python -m serkit.bin.export --model "$exp/$tag/foldJOB/final.pt" --out-dir "$exp/$tag/foldJOB/export" \
        --int8 --no-torchscript --latency-repeats 0 "&&" \
      python -m serkit.bin.infer --model "$exp/$tag/foldJOB/export/model_int8.onnx" --num-threads 1 \
        --wav-scp "$fdir/foldJOB/test/wav.scp" --utt2spk "$fdir/foldJOB/test/utt2spk" --format utt2pred \
        --output "$exp/${tag}_int8/foldJOB/decode_test/utt2pred" "&&" \
      python -m serkit.bin.compute_metrics --name foldJOB "$fdir/foldJOB/test/utt2emo" \
        "$exp/${tag}_int8/foldJOB/decode_test/utt2pred" "$exp/${tag}_int8/foldJOB/scores"
    # size and single-thread latency, measured once (fold 1's model)
    python -m serkit.bin.export --model "$exp/$tag/fold1/final.pt" --out-dir "$exp/$tag/fold1/export" \
      --int8 --no-torchscript --latency-repeats 20 > "$exp/$tag/log/export_latency.log" 2>&1
    python -m serkit.bin.aggregate_scores --title "${tag}_int8" "$exp/${tag}_int8/results" \
      $(for k in $(seq "$nfolds"); do echo "$exp/${tag}_int8/fold$k/scores"; done) >/dev/null
    echo "${tag}_int8 (UA | WA | macro-F1, mean ± std):$(grep 'mean ± std' "$exp/${tag}_int8/results/summary.md" | cut -d'|' -f3-5)"
  done
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
  log "Stage 8: results (serkit.bin.write_results) -> $results"
  python -m serkit.bin.write_results --exp "$exp" --folds-dir "$fdir" --protocol "$folds" \
    ${title:+--title "$title"} --command "${run_command:-$0 $*}" --out "$results" $tags >/dev/null
  log "wrote $results"
fi
