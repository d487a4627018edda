#!/usr/bin/env bash
# Refresh tools/requirements.lock: install serkit with every extra into a new, empty virtual
# environment, run the whole test suite in it, and only if the suite passes write the exact
# versions of everything installed (transitive packages included) as the new lock.
#
#   tools/update_lock.sh [--pin "torch==2.14.1 torchaudio==2.11.1"] [--python python3] [--keep-venv]
#
#   --pin        exact versions to ask for besides setup.py's ranges (default: the torch pair
#                of the current lock, so a refresh moves everything else but not torch)
#   --python     the interpreter the venv is made with (its version is recorded in the lock)
#   --keep-venv  leave the scratch venv in place (its path is printed) to inspect a failure
#
# Nothing is written when pip or a test fails; the lock on disk stays the tested one. Review
# the printed diff and commit tools/requirements.lock with the test figures.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock=$root/tools/requirements.lock
python=${PYTHON:-python3}
pins=""
keep=false
extras=$(cd "$root" && "$python" -c 'import ast,sys; src=open("setup.py").read(); t=ast.parse(src)
for n in ast.walk(t):
    if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "EXTRAS":
        print(",".join(k.value for k in n.value.keys))')

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --pin) pins=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --keep-venv) keep=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done
if [ -z "$pins" ] && [ -f "$lock" ]; then
  pins=$(grep -E '^(torch|torchaudio)==' "$lock" | tr '\n' ' ')
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/serkit-lock.XXXXXX")
venv=$scratch/venv
cleanup() { $keep && echo "$0: scratch venv kept in $venv" || rm -rf "$scratch"; }
trap cleanup EXIT

echo "$0: new venv $venv ($("$python" --version)); installing serkit[$extras] ${pins:+with $pins}"
"$python" -m venv "$venv"
# shellcheck disable=SC2086  # $pins is a list of requirement words
if ! (cd "$root" && "$venv/bin/python" -m pip install --progress-bar off -e ".[$extras]" $pins) > "$scratch/pip.log" 2>&1; then
  tail -n 30 "$scratch/pip.log" >&2
  echo "$0: pip failed; the lock is unchanged" >&2
  keep=true; exit 1
fi
"$venv/bin/python" -m pip check

echo "$0: running the test suite in it (several minutes)"
start=$(date +%s)
if ! (cd "$root" && SERKIT_VENV=$venv "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) 2>&1 | tee "$scratch/tests.log" | tail -n 5; then
  echo "$0: the suite failed on these versions (log: $scratch/tests.log); the lock is unchanged" >&2
  keep=true; exit 1
fi
if ! grep -qE '^[0-9]+ passed' <(tail -n 1 "$scratch/tests.log" | sed 's/^=* *//'); then
  echo "$0: the suite did not report a pass (log: $scratch/tests.log); the lock is unchanged" >&2
  keep=true; exit 1
fi
summary=$(tail -n 1 "$scratch/tests.log" | sed 's/^=* *//; s/ *=*$//')

new=$scratch/requirements.lock
{
  echo "# serkit's tested environment: pip constraints used by tools/install.sh (pip install -c)."
  echo "# Written by tools/update_lock.sh on $(date -u +%Y-%m-%d) after the whole suite passed in a"
  echo "# new venv: $summary ($(( $(date +%s) - start )) s)."
  echo "# python: $("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "# platform: $("$venv/bin/python" -c 'import platform; print(platform.system(), platform.machine())')"
  echo "# extras: $extras; asked for: ${pins:-setup.py ranges only}"
  echo "# Do not edit by hand: run tools/update_lock.sh [--pin ...] and commit what it writes."
  "$venv/bin/python" -m pip freeze --exclude-editable --all | grep -v -E '^(pip|serkit)==' | LC_ALL=C sort -f
} > "$new"
if [ -f "$lock" ]; then
  diff <(grep -v '^#' "$lock") <(grep -v '^#' "$new") | grep '^[<>]' || echo "$0: no version changed"
fi
mv "$new" "$lock"
echo "$0: wrote $lock ($(grep -vc '^#' "$lock") packages)"
