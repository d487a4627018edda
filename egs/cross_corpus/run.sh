#!/usr/bin/env bash
# Cross-corpus evaluation: train on one or more corpora, test on another, on the labels they
# share (conf/labels.yaml maps every corpus onto one canonical label set).
#
#   ./run.sh --emodb-root DIR --savee-root DIR [--experiments "emodb:savee savee:emodb ..."]
#
# Any corpus with a recipe can take part (--ravdess-root, --tess-root, --crema-d-root,
# --iemocap-root); its own local/prepare_data.py prepares it. An experiment is
# <train corpora joined by +>:<test corpus>; "emodb:emodb" tests on held-out speakers of the
# same corpus (the within-corpus reference on the same labels).
# --pooled true adds one model trained on all the given corpora at once (canonical labels, the
# first --test-speakers speakers of every corpus held out, --dev-speakers of each for dev); it is
# scored on each corpus's held-out speakers, deciding among that corpus's labels (the matrix's
# "pooled" row, beside the within-corpus diagonal on the same speakers).
# --pretrain-for "emodb savee" trains, for each corpus named, a model on all the OTHER corpora
# (exp/pretrain_<corpus>/final.pt, with --pretrain-config and --pretrain-balance): what
# egs/<corpus>/conf/train.yaml fine-tunes on that corpus's own folds (no speaker of the corpus
# is in it); the corpus's run.sh calls this recipe for it (--experiments "" --stop-stage 3).
# --general true adds a model trained on every speaker of every corpus given (dev speakers for
# model selection only), exported in stage 6 (ONNX and INT8; the card lists the corpora, labels
# and this run's cross-corpus figures): the model for users without labelled data of their own.
# The pooled and general models sample each corpus, and each class within it, an equal share of
# every epoch (--models-balance corpus_class: serkit.bin.pool_corpora's utt2corpus; "none" draws
# utterances as they come, so the largest corpus dominates); the pre-training models draw them as
# they come (--pretrain-balance none: issue 13's T11, egs/savee/TUNING.md).
# --baseline true (the default, where opensmile and scikit-learn are installed) also trains the
# openSMILE ComParE_2016 + SVM of the corpus recipes on every pair's training and dev sets
# (functionals extracted once per corpus, standardised per speaker), scores it on the pair's test
# set and averages its posteriors with the pair model's (weight 0.5): the matrix's SVM and fused
# tables. The pooled row has no SVM.
# Stages: 0 data preparation, 1 features and per-speaker CMVN, 2 experiment data sets,
# 3 training (serkit.bin.train), 4 scoring (serkit.bin.predict, compute_metrics; the baseline:
# serkit.bin.extract_functionals, baseline_svm, late_fusion),
# 5 RESULTS.md (serkit.bin.cross_corpus_results: the train x test UA matrix),
# 6 export of the general model (serkit.bin.export).
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

emodb_root=
savee_root=
ravdess_root=
tess_root=
crema_d_root=
iemocap_root=
stage=0
stop_stage=100
nj=2
train_jobs=2
experiments="emodb:savee savee:emodb emodb+savee:emodb emodb+savee:savee emodb:emodb savee:savee"
train_config=conf/train.yaml
feats_conf=conf/feats.yaml
labels=conf/labels.yaml
dev_speakers=1
test_speakers=1     # held-out speakers of a corpus on the diagonal and in the pooled row
pooled=false
pretrain_for=""
general=false
models_balance=corpus_class   # data.balance of the pooled and general models: corpus_class | corpus | sampler | none
pretrain_config=conf/pretrain.yaml   # the pre-training models' config (a fixed schedule)
pretrain_balance=none                # and their data.balance
baseline=true       # the openSMILE + SVM baseline and its fusion with each pair model (stage 4)
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*"; }
corpora=""
for c in emodb savee ravdess tess crema_d iemocap; do
  root=${c}_root
  [ -n "${!root}" ] && corpora="$corpora $c"
done
for e in $experiments; do
  for c in ${e//[+:]/ }; do
    [[ " $corpora " == *" $c "* ]] || { echo "$0: experiment '$e' needs --${c//_/-}-root DIR" >&2; exit 1; }
  done
done

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  for c in $corpora; do
    root=${c}_root
    log "Stage 0: preparing $c from ${!root} with ../$c/local/prepare_data.py"
    python "../$c/local/prepare_data.py" "${!root}" "data/$c"
  done
fi

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  for c in $corpora; do
    log "Stage 1: features ($feats_conf) and per-speaker CMVN for $c"
    utils/make_feats.sh --nj "$nj" --cmd "$feat_cmd" --config "$feats_conf" "data/$c" "exp/make_feats/$c" feats
    utils/fix_data_dir.sh "data/$c" >/dev/null
    utils/compute_cmvn_stats.sh --per-speaker "data/$c" "exp/make_feats/$c" feats
  done
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  log "Stage 2: experiment data sets (serkit.bin.cross_corpus_sets, serkit.bin.pool_corpora)"
  rm -rf data/pairs data/models && mkdir -p data/pairs data/models
  k=0
  for e in $experiments; do
    k=$((k + 1))
    python -m serkit.bin.cross_corpus_sets --labels "$labels" --train "$(echo "${e%%:*}" | tr + ' ')" \
      --test "${e#*:}" --dev-speakers "$dev_speakers" --test-speakers "$test_speakers" --out "data/pairs/pair$k"
    echo "$e" > "data/pairs/pair$k/name"
    # Pairs with the same training and dev sets on the same labels (emodb:savee and emodb:crema_d
    # share six labels) share one model: trained once, in the first of them.
    sig=$(cd "data/pairs/pair$k" && cat labels.txt train/utt2emo dev/utt2emo 2>/dev/null | md5sum | cut -c1-32)
    for j in $(seq 1 $((k - 1))); do
      if [ "$(cat "data/pairs/pair$j/signature")" = "$sig" ] && [ ! -f "data/pairs/pair$j/trained_on" ]; then
        echo "data/pairs/pair$j" > "data/pairs/pair$k/trained_on"
        mkdir -p "exp/pair$k"
        ln -sfn "../pair$j/final.pt" "exp/pair$k/final.pt"
        break
      fi
    done
    echo "$sig" > "data/pairs/pair$k/signature"
  done
  # Models shared by several pairs, or trained for the corpus recipes: data/models/model<m>
  m=0
  if $pooled; then
    m=$((m + 1))
    python -m serkit.bin.pool_corpora --labels "$labels" --corpora "$corpora" --dev-speakers "$dev_speakers" \
      --hold-out-first "$test_speakers" --out "data/models/model$m"
    echo pooled > "data/models/model$m/name"
    echo "$train_config" > "data/models/model$m/config"; echo "$models_balance" > "data/models/model$m/balance"
    for c in $corpora; do  # the pooled row: each corpus's held-out speakers on that corpus's labels
      k=$((k + 1))
      mkdir -p "data/pairs/pair$k"
      echo "pooled:$c" > "data/pairs/pair$k/name"
      grep "^$c " "data/models/model$m/corpora.txt" | cut -d' ' -f2- | tr ' ' '\n' > "data/pairs/pair$k/labels.txt"
      utils/copy_data_dir.sh "data/models/model$m/heldout/$c" "data/pairs/pair$k/test"
      echo "data/models/model$m" > "data/pairs/pair$k/trained_on"
      mkdir -p "exp/pair$k"
      ln -sfn ../pooled/final.pt "exp/pair$k/final.pt"
    done
  fi
  if $general; then
    m=$((m + 1))
    python -m serkit.bin.pool_corpora --labels "$labels" --corpora "$corpora" --dev-speakers "$dev_speakers" \
      --out "data/models/model$m"
    echo general > "data/models/model$m/name"
    echo "$train_config" > "data/models/model$m/config"; echo "$models_balance" > "data/models/model$m/balance"
  fi
  for c in $pretrain_for; do
    [[ " $corpora " == *" $c "* ]] || { echo "$0: --pretrain-for $c needs --${c//_/-}-root DIR" >&2; exit 1; }
    m=$((m + 1))
    others=$(for o in $corpora; do if [ "$o" != "$c" ]; then echo "$o"; fi; done | tr "\n" " ")
    python -m serkit.bin.pool_corpora --labels "$labels" --corpora "$others" --dev-speakers "$dev_speakers" \
      --out "data/models/model$m"
    echo "pretrain_$c" > "data/models/model$m/name"
    echo "$pretrain_config" > "data/models/model$m/config"; echo "$pretrain_balance" > "data/models/model$m/balance"
  done
fi
npairs=$(ls -d data/pairs/pair*/ 2>/dev/null | wc -l || true)  # pipefail: no match is 0, not an exit
nmodels=$(ls -d data/models/model*/ 2>/dev/null | wc -l || true)

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  # threads per job: the cores left idle when there are fewer jobs than --train-jobs go to the jobs
  threads() { local n=$1; [ "$n" -lt "$train_jobs" ] && echo $((train_jobs / (n > 0 ? n : 1))) || echo 1; }
  if [ "$nmodels" -gt 0 ]; then
    log "Stage 3: training $nmodels shared models (data/models/model*/{name,config,balance}), $train_jobs at a time (logs: exp/log/train_model.*.log)"
    $train_cmd --max-jobs-run "$train_jobs" JOB=1:"$nmodels" exp/log/train_model.JOB.log \
      python -m serkit.bin.train --config \$\(cat data/models/modelJOB/config\) --labels data/models/modelJOB/labels.txt \
        --train-data data/models/modelJOB/train --dev-data data/models/modelJOB/dev \
        --exp-dir exp/\$\(cat data/models/modelJOB/name\) --resume --override train.num_threads=$(threads "$nmodels") \
        --override data.balance=\$\(cat data/models/modelJOB/balance\)
  fi
  # pairs scored with a model trained elsewhere (trained_on: a shared model, or an earlier pair with
  # the same training set) have exp/pair<k>/final.pt linked to it and are not trained again
  for p in data/pairs/pair*/; do if [ -d "$p" ] && [ ! -f "$p/trained_on" ]; then basename "$p"; fi; done | sort -V > data/pairs/to_train
  ntrain=$(wc -l < data/pairs/to_train)
  if [ "$ntrain" -gt 0 ]; then
    log "Stage 3: training $ntrain pair models ($train_config), $train_jobs at a time (logs: exp/log/train.*.log)"
    $train_cmd --max-jobs-run "$train_jobs" JOB=1:"$ntrain" exp/log/train.JOB.log \
      p=\$\(sed -n JOBp data/pairs/to_train\) "&&" \
      python -m serkit.bin.train --config "$train_config" --labels data/pairs/\$p/labels.txt \
        --train-data data/pairs/\$p/train --dev-data data/pairs/\$p/dev --exp-dir exp/\$p --resume \
        --override train.num_threads=$(threads "$ntrain")
  fi
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ] && [ "$npairs" -gt 0 ]; then
  log "Stage 4: scoring each model on its test corpus, deciding among the pair's labels"
  $train_cmd --max-jobs-run "$nj" JOB=1:"$npairs" exp/log/score.JOB.log \
    python -m serkit.bin.predict --num-threads 1 --model exp/pairJOB/final.pt --data data/pairs/pairJOB/test \
      --label-subset data/pairs/pairJOB/labels.txt --out-dir exp/pairJOB/decode_test "&&" \
    python -m serkit.bin.compute_metrics --labels data/pairs/pairJOB/labels.txt data/pairs/pairJOB/test/utt2emo \
      exp/pairJOB/decode_test/utt2pred exp/pairJOB/scores
  if $baseline && ! python -c "import opensmile, sklearn" 2>/dev/null; then
    log "Stage 4: baseline skipped: it needs opensmile and scikit-learn (tools/install.sh --extras baseline)"
  elif $baseline; then
    log "Stage 4: openSMILE functionals of each corpus (serkit.bin.extract_functionals; logs: exp/log/functionals.<corpus>.log)"
    for c in $corpora; do
      $feat_cmd "exp/log/functionals.$c.log" python -m serkit.bin.extract_functionals --jobs "$nj" "data/$c" "exp/functionals/$c"
    done
    log "Stage 4: the SVM of every pair with its own training set, fused with the pair model (logs: exp/log/svm.<pair>.log)"
    for p in data/pairs/pair*/; do
      p=${p%/}; k=$(basename "$p")
      [ -d "$p/train" ] || continue  # the pooled row: scored with the pooled model only
      rm -rf "$p/svm_folds" && mkdir -p "$p/svm_folds/fold1"
      for s in train dev test; do [ -d "$p/$s" ] && ln -s "../../$s" "$p/svm_folds/fold1/$s"; done
      utils/combine_data.sh "$p/svm_all" $(for s in train dev test; do [ -d "$p/$s" ] && echo "$p/$s"; done) >/dev/null
      $train_cmd "exp/log/svm.$k.log" \
        python -m serkit.bin.baseline_svm $(for c in $corpora; do echo "--functionals exp/functionals/$c/ComParE_2016.scp"; done) \
          "$p/svm_all" "$p/svm_folds" "exp/$k/svm" "&&" \
        python -m serkit.bin.compute_metrics --labels "$p/labels.txt" "$p/test/utt2emo" \
          "exp/$k/svm/fold1/decode_test/utt2pred" "exp/$k/svm/scores" "&&" \
        python -m serkit.bin.late_fusion --weight 0.5 --first-test "exp/$k/decode_test" \
          --second-test "exp/$k/svm/fold1/decode_test" --test-ref "$p/test/utt2emo" --out-dir "exp/$k/fused" "&&" \
        python -m serkit.bin.compute_metrics --labels "$p/labels.txt" "$p/test/utt2emo" \
          "exp/$k/fused/decode_test/utt2pred" "exp/$k/fused/scores"
    done
  fi
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ] && [ "$npairs" -gt 0 ]; then
  general_data=$(grep -lx general data/models/model*/name 2>/dev/null | head -n 1 | xargs -r dirname || true)
  python -m serkit.bin.cross_corpus_results --pairs data/pairs --exp exp --command "$command_line" --out RESULTS.md \
    --json exp/cross_corpus.json ${general_data:+--general-data "$general_data"} >/dev/null
  log "wrote $(pwd)/RESULTS.md"
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ] && $general; then
  log "Stage 6: exporting the general model (serkit.bin.export: ONNX, INT8; logs: exp/general/export.log)"
  python -m serkit.bin.export --model exp/general/final.pt --out-dir exp/general/export --int8 \
    $([ -f exp/cross_corpus.json ] && echo --scores exp/cross_corpus.json) > exp/general/export.log 2>&1 \
    || { tail -n 5 exp/general/export.log >&2; exit 1; }
  log "general model of $(echo $corpora | tr ' ' '+'): $(pwd)/exp/general/export/model_int8.onnx; label your recordings with"
  echo "  serkit-infer --model $(pwd)/exp/general/export/model_int8.onnx --format table <your-folder>"
fi
