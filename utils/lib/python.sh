#!/usr/bin/env bash
# Run serkit's Python: the recipe's environment if active, else the one tools/install.sh made.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
py="${SERKIT_VENV:-$here/../../tools/venv}/bin/python"
if [ ! -x "$py" ]; then
  echo "serkit is not installed: run $(cd "$here/../.." && pwd)/tools/install.sh" >&2
  exit 1
fi
exec "$py" "$@"
