#!/usr/bin/env bash
# Issue 14: one clean model against multi-condition training and the PCEN front end, on clean
# speech, held-out noise at 20/10/5/0 dB and simulated reverberation at several RT60s, all from
# one run on the same folds. Rows:
#   none  conf/train.yaml (the recipe default, clean training) on log-mel
#   mc    conf/robust/train_mc.yaml: online noise (train split of the noise) and reverberation
#         mixed per batch, clean crops kept, trained longer than the clean model (40 epochs)
#   mcf   conf/robust/train_mc_follow.yaml: mc with each noisy / reverberated crop normalised with the
#         CMVN statistics of noisy speech (follow_cmvn), as the noisy test sets are
#   pcen  conf/train.yaml on PCEN features (conf/feats_pcen.yaml), clean training
#   <path>.yaml  any training config (relative to egs/<recipe>), exp_robust/<its basename>
# With --svm true (default) the none, mc and mcf rows also score the openSMILE SVM (trained on
# clean speech, as in the recipes) and each CRNN fused with it on every test set.
#
#   bench/robustness_multicondition.sh --recipe emodb --noise-root DIR [--fold-file F] [--dev-speakers N]
#                                      [--rows "none mc mcf pcen"] [--svm true|false]
#
# Runs in egs/<recipe> after its stage 0 (data/all); --fold-file is relative to it (default: the
# recipe's loso folds through make_folds with --dev-speakers N [0, the recipes' default], or e.g.
# conf/folds_5_nodev.txt for crema_d). Writes the table into
# the recipe's RESULTS.md (section "robustness_multicondition", kept when the recipe rewrites it) with this command.
set -euo pipefail
recipe=
noise_root=
fold_file=
rows="none mc pcen"
dev_speakers=0
rt60s="0.3 0.6 0.9"
svm=true    # the none row also scores the openSMILE SVM and the CRNN + SVM fusion on every test set
while [ $# -gt 0 ]; do
  case "$1" in
    --recipe) recipe=$2 ;;
    --noise-root) noise_root=$2 ;;
    --fold-file) fold_file=$2 ;;
    --dev-speakers) dev_speakers=$2 ;;
    --rows) rows=$2 ;;
    --rt60s) rt60s=$2 ;;
    --svm) svm=$2 ;;
    *) echo "$0: unknown option '$1'" >&2; exit 1 ;;
  esac
  shift 2
done
[ -n "$recipe" ] && [ -n "$noise_root" ] || { echo "usage: $0 --recipe NAME --noise-root DIR [--fold-file F] [--rows LIST]" >&2; exit 1; }
command="$0 --recipe $recipe --noise-root $noise_root${fold_file:+ --fold-file $fold_file} --dev-speakers $dev_speakers --rows \"$rows\" --svm $svm"
cd "$(dirname "$0")/../egs/$recipe"
. ./path.sh
[ -f data/all/utt2emo ] || { echo "$0: egs/$recipe/data/all is missing: run ./run.sh ... --stop-stage 0 first" >&2; exit 1; }
folds=(--folds loso --dev-speakers "$dev_speakers")
[ -n "$fold_file" ] && folds=(--folds file --fold-file "$fold_file")
start=$(date +%s)
snap=$(mktemp /tmp/ser.XXXXXX.sh)
cp ser.sh "$snap"  # a fixed copy: this runs for a long time
common=("${folds[@]}" --noise-root "$noise_root" --noise-aug false --svm-train-aug false  # clean copies only: each row says its own
        --robust-snrs "20 10 5 0" --robust-rt60s "$rt60s" --baseline false
        --train-jobs 2 --stop-stage 6)
table_rows=()
share_svm() {  # the SVM is the same for every row (clean training): reuse the none row's functionals
  if [ "$svm" = true ] && [ -d exp_robust/none/baseline_svm ] && [ ! -e "exp_robust/$1/baseline_svm" ]; then
    mkdir -p "exp_robust/$1" && ln -s ../none/baseline_svm "exp_robust/$1/baseline_svm"
  fi
}
for r in $rows; do
  case "$r" in
    none) bash "$snap" --stage 1 "${common[@]}" --folds-dir data/folds_rb --exp exp_robust/none --train-configs conf/train.yaml \
            --baseline "$svm"
          table_rows+=("clean (conf/train.yaml)=exp_robust/none/train")
          if [ "$svm" = true ]; then
            table_rows+=("openSMILE SVM (the baseline, clean training)=exp_robust/none/baseline_svm"
                         "clean CRNN + SVM, posteriors averaged (the fused default)=exp_robust/none/train+svm")
          fi ;;
    mc)   share_svm mc
          bash "$snap" --stage 1 "${common[@]}" --folds-dir data/folds_rb --exp exp_robust/mc --train-configs conf/robust/train_mc.yaml \
            --baseline "$svm"
          table_rows+=("online noise + reverb (conf/robust/train_mc.yaml)=exp_robust/mc/train_mc")
          [ "$svm" = true ] && table_rows+=("online noise + reverb, + SVM=exp_robust/mc/train_mc+svm") ;;
    mcf)  share_svm mcf
          bash "$snap" --stage 1 "${common[@]}" --folds-dir data/folds_rb --exp exp_robust/mcf --train-configs conf/robust/train_mc_follow.yaml \
            --baseline "$svm"
          table_rows+=("online noise + reverb, CMVN of the noisy speech (conf/robust/train_mc_follow.yaml)=exp_robust/mcf/train_mc_follow")
          [ "$svm" = true ] && table_rows+=("online noise + reverb, CMVN of the noisy speech, + SVM=exp_robust/mcf/train_mc_follow+svm") ;;
    pcen) [ -d data/all_pcen ] || utils/copy_data_dir.sh data/all data/all_pcen >/dev/null
          bash "$snap" --stage 1 "${common[@]}" --data all_pcen --feats-conf conf/feats_pcen.yaml --folds-dir data/folds_rb_pcen \
            --exp exp_robust/pcen --train-configs conf/train.yaml
          table_rows+=("PCEN front end, clean training=exp_robust/pcen/train") ;;
    *.yaml) [ -f "$r" ] || { echo "$0: row '$r': no such config in egs/$recipe" >&2; exit 1; }
          t=$(basename "$r" .yaml)
          share_svm "$t"
          bash "$snap" --stage 1 "${common[@]}" --folds-dir data/folds_rb --exp "exp_robust/$t" --train-configs "$r" \
            --baseline "$svm"
          table_rows+=("$t ($r)=exp_robust/$t/$t")
          [ "$svm" = true ] && table_rows+=("$t, + SVM=exp_robust/$t/$t+svm") ;;
    *) echo "$0: unknown row '$r' (none mc mcf pcen, or a training config <path>.yaml)" >&2; exit 1 ;;
  esac
done
rm -f "$snap"
minutes=$(( ($(date +%s) - start + 59) / 60 ))
nfolds=$(ls -d exp_robust/*/*/fold*/ 2>/dev/null | sed 's,.*/fold,,' | sort -u | wc -l)
note="## Robustness: noise and reverberation (bench/robustness_multicondition.sh)

UA (%, mean ± std over $nfolds folds) on clean test speech, on the same speech mixed with noise
recordings held out from training (data/noise/test) at each SNR, and reverberated with simulated
room impulse responses of each RT60 (serkit.augment.waveform). Every row is trained and scored in
this run on the same folds. Measured $(date +%Y-%m-%d) in $minutes min on $(nproc) CPU cores with:

\`\`\`bash
$command
\`\`\`"
python ../../bench/robustness_table.py --recipe . --reference "" --section robustness_multicondition --rt60s "$(echo $rt60s | tr ' ' ,)" \
  --update RESULTS.md --note "$note" "${table_rows[@]}"
