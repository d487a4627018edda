#!/usr/bin/env bash
# The pre-training model a recipe's training configs fine-tune (train.init_from:
# ../cross_corpus/exp/pretrain_<corpus>/final.pt): trained by ../cross_corpus/run.sh
# --pretrain-for <corpus> on the OTHER corpora given, none of whose speakers is in this one
# (issue 13's T11: egs/savee/TUNING.md). Called by run.sh before training (stage 4).
#
#   ./pretrain.sh --corpus savee --train-configs "conf/train.yaml ..." \
#     --savee-root DIR --emodb-root DIR --crema-d-root DIR [--nj N] [--train-jobs N]
#
# Does nothing when no config names the model or when it exists (delete it to train it again);
# fails, saying which roots to give, when it is needed and fewer than one other corpus is given.
. ./path.sh || exit 1
set -euo pipefail

corpus=
train_configs=
nj=2
train_jobs=2
emodb_root=
savee_root=
crema_d_root=
ravdess_root=
tess_root=
iemocap_root=
. utils/parse_options.sh

model=../cross_corpus/exp/pretrain_$corpus/final.pt
needed=false
for c in $train_configs; do
  grep -qsF "init_from: $model" "$c" && needed=true
done
if ! $needed || [ -f "$model" ]; then
  exit 0
fi
roots=()
others=0
for c in emodb savee crema_d ravdess tess iemocap; do
  root=${c}_root
  [ -n "${!root}" ] || continue
  [ -d "${!root}" ] || { echo "$0: --${c//_/-}-root ${!root} is not a directory" >&2; exit 1; }
  roots+=("--${c//_/-}-root" "$(cd "${!root}" && pwd)")  # absolute: ../cross_corpus runs elsewhere
  [ "$c" != "$corpus" ] && others=$((others + 1))
done
if [ "$others" -eq 0 ]; then
  example=$(for c in emodb savee crema_d; do if [ "$c" != "$corpus" ]; then echo -n "--${c//_/-}-root DIR "; fi; done)
  echo "$0: $(grep -lsF "init_from: $model" $train_configs | tr '\n' ' ')fine-tunes $model, a model pre-trained on" \
    "other corpora, which does not exist yet: give their audio (e.g. ${example% }) to" \
    "train it (../cross_corpus/run.sh --pretrain-for $corpus; about 20 min on 2 cores), or train from scratch" \
    "with --train-configs conf/train_scratch.yaml" >&2
  exit 1
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (pretrain.sh) the model conf/train.yaml fine-tunes: $model, trained on" \
  "the other corpora by ../cross_corpus/run.sh --pretrain-for $corpus (log: ../cross_corpus/exp/log/pretrain_$corpus.log)"
mkdir -p ../cross_corpus/exp/log
(cd ../cross_corpus && ./run.sh "${roots[@]}" --experiments "" --pretrain-for "$corpus" --stop-stage 3 \
  --nj "$nj" --train-jobs "$train_jobs") > "../cross_corpus/exp/log/pretrain_$corpus.log" 2>&1 \
  || { tail -n 5 "../cross_corpus/exp/log/pretrain_$corpus.log" >&2; echo "$0: pre-training failed; see ../cross_corpus/exp/log/pretrain_$corpus.log" >&2; exit 1; }
[ -f "$model" ] || { echo "$0: ../cross_corpus/run.sh finished without $model" >&2; exit 1; }
