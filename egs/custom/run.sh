#!/usr/bin/env bash
# Your own labelled recordings, in one command: a folder per label, or a manifest.
#
#   ./run.sh --corpus-root DIR [--speaker-regex RE] [--label-map FILE] [--stage N] [--stop-stage N]
#   ./run.sh --manifest FILE.csv [--speaker-regex RE] [--label-map FILE] ...
#
# Layouts: DIR/<Label>/.../<file> (any case and spelling of the label folder: Angry, anger, ang,
# Pleasant surprise...; any audio soundfile reads, any rate or channel count; subfolders allowed),
# or a CSV/TSV manifest with a header: path, label [, speaker, gender, text] (paths relative to
# the manifest's folder). Labels map onto angry bored calm disgust fear happy neutral sad
# surprise; others are reported and left out unless --label-map FILE maps them
# ('<your label> <canonical label>' per line).
# Speakers: a manifest column, or --speaker-regex on the path under DIR (the group named spk, else
# the first group), e.g.
#   EmoDB   wav/03a01Fa.wav         --speaker-regex '^[^/]+/(\d\d)'
#   SAVEE   angry/DC_a01.wav        --speaker-regex '/([A-Z]{2})_'
#   RAVDESS .../Actor_07/03-...wav  --speaker-regex 'Actor_(\d+)'
#   CREMA-D angry/1001_DFA_ANG_XX   --speaker-regex '/(\d{4})_'
# Folds: leave one speaker out up to 12 speakers, else 5 folds of speakers, no dev speakers (as the
# corpus recipes: a fixed schedule, egs/emodb/TUNING.md T7). Without speakers every
# utterance is its own speaker and the folds are 5 random groups of utterances: speaker-DEPENDENT,
# the results optimistic, which the run and RESULTS.md say loudly. Stage 0 prepares data/all (local/prepare_data.py: everything
# not used is listed in data/all/rejected.txt); stages 1-8 are the shared body (../TEMPLATE/ser.sh);
# options after -- go to it.
. ./path.sh || exit 1
. ./cmd.sh || exit 1
set -euo pipefail

corpus_root=
manifest=
speaker_regex=
label_map=
stage=0
stop_stage=100
nj=2
train_jobs=2
train_configs=conf/train.yaml
. utils/parse_options.sh

[ -n "$corpus_root$manifest" ] \
  || { echo "$0: give --corpus-root DIR (one folder per label) or --manifest FILE (CSV/TSV: path,label,...)" >&2; exit 1; }

if [ ${stage} -le 0 ] && [ ${stop_stage} -ge 0 ]; then
  echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Stage 0: data preparation (local/prepare_data.py) into data/all"
  python local/prepare_data.py ${manifest:+--manifest "$manifest"} ${speaker_regex:+--speaker-regex "$speaker_regex"} \
    ${label_map:+--label-map "$label_map"} "${corpus_root:-.}" data/all
  utils/validate_data_dir.sh --no-feats data/all
fi

read -r scheme fold_n dev_speakers fold_file <<< "$(python local/choose_folds.py data/all)"
title="Own corpus ($(basename "${corpus_root:-$manifest}")), $scheme folds"
if [ -f data/all/NO_SPEAKERS ]; then
  title="$title, SPEAKER-DEPENDENT (no speaker information: the results are optimistic)"
  echo "$0: WARNING: no speaker information: the folds are speaker-DEPENDENT and the results OPTIMISTIC;" \
       "give a speaker column or --speaker-regex for a speaker-independent result" >&2
fi

if [ ${stop_stage} -ge 1 ]; then
  ./ser.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage "$stop_stage" --nj "$nj" --train-jobs "$train_jobs" \
    --data all --folds "$scheme" --fold-n "$fold_n" ${fold_file:+--fold-file "$fold_file"} \
    --dev-speakers "$dev_speakers" --train-configs "$train_configs" \
    --title "$title" --run-command "$command_line" "$@"
fi
echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh) Done: results in $(pwd)/RESULTS.md, experiments in $(pwd)/exp"
