# Sourced by the tools that write into a data directory (make_feats.sh, compute_cmvn_stats.sh):
#   lock_data_dir <data-dir>
# checks that the directory exists and takes an exclusive lock on <data-dir>/.lock for the rest
# of the calling script, or exits with a message when another such tool holds it;
#   data_dir_name <data-dir>
# prints the name its output files get (data/noise/train -> noise_train: nested sets must not collide). Two extractions into one directory would write the
# same temporary names, and the one that reports success could end up with the other's features.
# The lock is flock(1)'s: the kernel drops it when the script ends, however it ends, so a killed
# run leaves no stale lock behind.
lock_data_dir() {
  local dir=$1 me
  me=$(basename "$0")
  [ -d "$dir" ] || { echo "$me: data directory '$dir' does not exist" >&2; exit 1; }
  if ! command -v flock >/dev/null 2>&1; then
    echo "$me: WARNING: flock (util-linux) is not installed: a concurrent run on $dir would not be noticed" >&2
    return 0
  fi
  exec 9>"$dir/.lock"
  if ! flock -n 9; then
    echo "$me: another make_feats.sh or compute_cmvn_stats.sh is writing into $dir (it holds $dir/.lock);" \
         "wait for it to finish and rerun; nothing was changed" >&2
    exit 1
  fi
}

data_dir_name() {
  local name parent
  name=$(basename "$1")
  parent=$(basename "$(dirname "$1")")
  if [ "$parent" != data ] && [ "$parent" != . ]; then echo "${parent}_$name"; else echo "$name"; fi
}
