# The serkit checkout; set SERKIT_ROOT before running a recipe copied outside egs/.
export SERKIT_ROOT=${SERKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$SERKIT_ROOT/tools/env.sh"
