# Sourced by every recipe's path.sh: puts serkit's environment and utils/ on the path.
# Expects SERKIT_ROOT to point at the repository root.
if [ -z "${SERKIT_ROOT:-}" ]; then
  echo "tools/env.sh: SERKIT_ROOT is not set; source a recipe's path.sh instead" >&2
  return 1 2>/dev/null || exit 1
fi
if [ ! -x "$SERKIT_ROOT/tools/venv/bin/python" ] && [ -z "${SERKIT_VENV:-}" ]; then
  echo "serkit is not installed: run $SERKIT_ROOT/tools/install.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="${SERKIT_VENV:-$SERKIT_ROOT/tools/venv}/bin:$SERKIT_ROOT/utils:$PATH"
export LC_ALL=C  # Kaldi tables are sorted in C order
export PYTHONUNBUFFERED=1
