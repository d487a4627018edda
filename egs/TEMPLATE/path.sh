export SERKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$SERKIT_ROOT/tools/env.sh"
