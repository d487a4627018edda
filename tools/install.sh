#!/usr/bin/env bash
# Install serkit into a virtual environment under tools/ (Kaldi keeps its toolchain there too).
#
#   tools/install.sh [--extras test] [--venv DIR] [--python PYTHON] [--lock FILE|none]
#
# Installs the exact versions of tools/requirements.lock (pip constraints: every package,
# transitive ones too, tested together by tools/update_lock.sh), so that a new release on PyPI
# cannot change what a fresh clone gets. --lock none resolves setup.py's ranges instead.
# Idempotent: a stamp records what was installed; a second call with the same setup.py, lock
# and extras returns at once. Nothing here needs root or system packages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SERKIT_VENV:-$root/tools/venv}
python=${PYTHON:-python3}
extras=""
lock=$root/tools/requirements.lock

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) extras=$2; shift 2 ;;
    --venv) venv=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --lock) lock=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done

if ! command -v "$python" >/dev/null 2>&1; then
  echo "$0: '$python' not found; install Python >= 3.9 or pass --python /path/to/python3" >&2
  exit 1
fi

constraints=()
if [ "$lock" != none ]; then
  if [ ! -f "$lock" ]; then
    echo "$0: lock file '$lock' not found; pass --lock none to install from setup.py's ranges" >&2
    exit 1
  fi
  lock_py=$(sed -n 's/^# python: *//p' "$lock")
  have_py=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [ -n "$lock_py" ] && [ "$lock_py" != "$have_py" ]; then
    echo "$0: WARNING: $lock was tested with Python $lock_py, this is $have_py: installing the same" \
         "versions anyway; if pip finds no build of one, use --python python$lock_py or --lock none" >&2
  fi
  constraints=(-c "$lock")
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.serkit_install_stamp"
want="$(cat "$root/setup.py" | cksum | cut -d' ' -f1) lock=$([ "$lock" = none ] && echo none || cksum < "$lock" | cut -d' ' -f1) extras=$extras"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c "import serkit" 2>/dev/null; then
  exit 0
fi
# A stamp for a superset of extras also satisfies a request without extras.
if [ -z "$extras" ] && [ -f "$stamp" ] && grep -q "^$(echo "$want" | cut -d' ' -f1,2) " "$stamp" \
    && "$venv/bin/python" -c "import serkit" 2>/dev/null; then
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "tools/install.sh: creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
echo "tools/install.sh: installing serkit$([ -n "$extras" ] && echo "[$extras]") into $venv" \
     "($([ "$lock" = none ] && echo "setup.py's ranges" || echo "versions of $(basename "$lock")"); a few minutes the first time)"
log="$venv/pip-install.log"
if ! (cd "$root" && "$venv/bin/python" -m pip install --progress-bar off "${constraints[@]}" -e "$spec") > "$log" 2>&1; then
  grep -v '^WARNING: Location' "$log" | tail -n 30 >&2
  echo "tools/install.sh: pip failed (full log: $log); check the network access to PyPI and rerun" >&2
  exit 1
fi
if ! "$venv/bin/python" -c "import serkit, torch, torchaudio, kaldiio, soundfile" ; then
  echo "tools/install.sh: the installed environment does not import; see the pip output above" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "tools/install.sh: done ($("$venv/bin/python" -c 'import torch, torchaudio; print("torch", torch.__version__, "torchaudio", torchaudio.__version__)'))"
