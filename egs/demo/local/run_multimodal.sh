#!/usr/bin/env bash
# Multimodal emotion recognition on the demo corpus: the transcripts alone, and audio + text
# fused late (posteriors), early (text vector at every BiLSTM frame) and in between (text-steered
# attention pooling), next to the audio model of the main recipe.
#
#   local/run_multimodal.sh [--stage N] [--stop-stage N] [--nj N] [--train-threads N]
#
# Run from egs/demo after ./run.sh (at least its stages 0-4: corpus, features, folds and the
# audio model exp/train). Stages:
#   1  train the text-only, early- and intermediate-fusion models on every fold
#      (conf/train_text.yaml, conf/train_early_fusion.yaml, conf/train_intermediate_fusion.yaml)
#   2  decode each fold's dev and test sets with every model, the audio model included
#   3  late fusion of the audio and the text model: the weight tuned on each fold's dev UA
#   4  scoring on the speaker-independent test sets (and dev), aggregated over folds
#   5  RESULTS_multimodal.md
#
# Options (defaults in brackets):
#   --stage/--stop-stage N   [1/100]
#   --nj N                   fold trainings and decodes run at once [2]
#   --train-threads N        CPU threads per training [1]
#   --audio-tag TAG          the main recipe's audio experiment, exp/TAG [train]
#   --text-conf F            [conf/train_text.yaml]
#   --fusion-confs "F ..."   [conf/train_early_fusion.yaml conf/train_intermediate_fusion.yaml]
#   --fusion-rule R          late fusion: linear | loglinear [linear]
#   --train-name NAME        training set in each fold (train_aug after augmentation) [train]
#   --folds-dir DIR          [data/folds]; --exp DIR [exp]; --results FILE [RESULTS_multimodal.md]
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

stage=1
stop_stage=100
nj=2
train_threads=1
audio_tag=train
text_conf=conf/train_text.yaml
fusion_confs="conf/train_early_fusion.yaml conf/train_intermediate_fusion.yaml"
fusion_rule=linear
train_name=train
folds_dir=data/folds
exp=exp
results=RESULTS_multimodal.md
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run_multimodal.sh:${BASH_LINENO[0]}) $*"; }
die() { echo "run_multimodal.sh: ERROR: $*" >&2; exit 1; }
: "${train_cmd:=run.pl}"

fdir=$folds_dir
nfolds=$(ls -d $fdir/fold*/ 2>/dev/null | wc -l)
[ "$nfolds" -gt 0 ] || die "no folds in $fdir; run ./run.sh --stop-stage 4 first (corpus, features, folds, audio model)"
for x in $train_name dev test; do
  [ -f "$fdir/fold1/$x/feats.scp" ] || die "$fdir/fold1/$x has no features; run ./run.sh --stop-stage 4 first"
  [ -f "$fdir/fold1/$x/text" ] || die "$fdir/fold1/$x has no text table; the text models need transcripts"
done
[ -f "$exp/$audio_tag/fold1/final.pt" ] || die "$exp/$audio_tag/fold1/final.pt is missing; train the audio model (./run.sh --stop-stage 4)"
for conf in $text_conf $fusion_confs; do [ -f "$conf" ] || die "training config '$conf' not found"; done
text_tag=$(basename "$text_conf" .yaml)
fusion_tags=$(for conf in $fusion_confs; do basename "$conf" .yaml; done)
late_tag=late_fusion
commands=$exp/$late_tag/commands.sh
mkdir -p "$exp/$late_tag"
record() { echo "$*" | tr '\n' ' ' | tr -s ' ' | sed 's/ $//' >> "$commands"; echo >> "$commands"; }  # for the results

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  : > "$commands"
  for conf in $text_conf $fusion_confs; do
    tag=$(basename "$conf" .yaml)
    mkdir -p "$exp/$tag"
    cmd="python -m serkit.bin.train --config $conf --train-data $fdir/foldJOB/$train_name --dev-data $fdir/foldJOB/dev
      --exp-dir $exp/$tag/foldJOB --resume --override train.num_threads=$train_threads"
    record "$cmd"
    if [ "$(ls $exp/$tag/fold*/final.pt 2>/dev/null | wc -l)" -eq "$nfolds" ]; then
      log "Stage 1: $tag is trained already (remove $exp/$tag to train it again)"
      continue
    fi
    log "Stage 1: training $tag ($conf) on $nfolds folds, $nj at a time (logs: $exp/$tag/log/train.*.log)"
    start=$(date +%s)
    $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/train.JOB.log" $cmd
    echo $(( $(date +%s) - start )) > "$exp/$tag/train_wall_seconds"
  done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  for tag in $audio_tag $text_tag $fusion_tags; do
    for x in dev test; do
      log "Stage 2: decoding $x with $tag"
      cmd="python -m serkit.bin.predict --num-threads 1 --model $exp/$tag/foldJOB/final.pt --data $fdir/foldJOB/$x
        --out-dir $exp/$tag/foldJOB/decode_$x"
      record "$cmd"
      $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/decode_$x.JOB.log" $cmd
    done
  done
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  log "Stage 3: late fusion ($fusion_rule) of $audio_tag and $text_tag, weight tuned on dev UA ($exp/$late_tag)"
  cmd="python -m serkit.bin.late_fusion --rule $fusion_rule --dev-ref $fdir/foldJOB/dev/utt2emo
    --test-ref $fdir/foldJOB/test/utt2emo
    --audio-dev $exp/$audio_tag/foldJOB/decode_dev --text-dev $exp/$text_tag/foldJOB/decode_dev
    --audio-test $exp/$audio_tag/foldJOB/decode_test --text-test $exp/$text_tag/foldJOB/decode_test
    --out-dir $exp/$late_tag/foldJOB"
  record "$cmd"
  $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$late_tag/log/late_fusion.JOB.log" $cmd
  grep -h "w_audio" $exp/$late_tag/log/late_fusion.*.log
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  for tag in $audio_tag $text_tag $late_tag $fusion_tags; do
    for x in test dev; do
      suffix=$([ "$x" = dev ] && echo _dev || true)
      log "Stage 4: scoring $tag on $x"
      cmd="python -m serkit.bin.compute_metrics --name foldJOB $fdir/foldJOB/$x/utt2emo
        $exp/$tag/foldJOB/decode_$x/utt2pred $exp/$tag/foldJOB/scores$suffix"
      [ "$x" = test ] && record "$cmd"
      $train_cmd --max-jobs-run "$nj" JOB=1:"$nfolds" "$exp/$tag/log/score$suffix.JOB.log" $cmd
      python -m serkit.bin.aggregate_scores --title "$tag ($x)" "$exp/$tag/results$suffix" \
        $(for k in $(seq "$nfolds"); do echo "$exp/$tag/fold$k/scores$suffix"; done) >/dev/null
    done
    echo "$tag test (UA | WA | macro-F1):$(grep 'mean ± std' "$exp/$tag/results/summary.md" | cut -d'|' -f3-5)"
  done
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "Stage 5: results -> $results"
  set -- $fusion_tags
  python local/multimodal_results.py --exp "$exp" --audio "$audio_tag" --text "$text_tag" --late "$late_tag" \
    --early "$1" --intermediate "$2" --commands "$commands" --command "$command_line" --out "$results"
fi
