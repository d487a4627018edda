#!/usr/bin/env bash
# Install serkit into a virtual environment under tools/ (Kaldi keeps its toolchain there too).
#
#   tools/install.sh [--extras test] [--venv DIR] [--python PYTHON]
#
# Idempotent: a stamp records what was installed; a second call with the same setup.py and
# extras returns at once. Nothing here needs root or system packages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SERKIT_VENV:-$root/tools/venv}
python=${PYTHON:-python3}
extras=""

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) extras=$2; shift 2 ;;
    --venv) venv=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done

if ! command -v "$python" >/dev/null 2>&1; then
  echo "$0: '$python' not found; install Python >= 3.9 or pass --python /path/to/python3" >&2
  exit 1
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.serkit_install_stamp"
want="$(cat "$root/setup.py" | cksum | cut -d' ' -f1) extras=$extras"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c "import serkit" 2>/dev/null; then
  exit 0
fi
# A stamp for a superset of extras also satisfies a request without extras.
if [ -z "$extras" ] && [ -f "$stamp" ] && grep -q "^$(echo "$want" | cut -d' ' -f1) " "$stamp" \
    && "$venv/bin/python" -c "import serkit" 2>/dev/null; then
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "tools/install.sh: creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
echo "tools/install.sh: installing serkit$([ -n "$extras" ] && echo "[$extras]") and its pinned dependencies into $venv (a few minutes the first time)"
log="$venv/pip-install.log"
if ! (cd "$root" && "$venv/bin/python" -m pip install --progress-bar off -e "$spec") > "$log" 2>&1; then
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
