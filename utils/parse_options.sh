#!/usr/bin/env bash
# parse_options.sh: Kaldi-style option parsing for recipe scripts.
#
# Source it after declaring the variables that act as options, e.g.
#
#   nj=4
#   use_gpu=false
#   help_message="Usage: $0 [options] <data-dir> <exp-dir>"
#   . utils/parse_options.sh
#   data=$1; exp=$2
#
# Then "--nj 8" sets nj=8 and "--use-gpu true" (or "--use-gpu=true") sets
# use_gpu=true.  Rules:
#   * an option may only set a variable that already exists (is set, possibly
#     to the empty string); anything else is an error listing the valid
#     options;
#   * a variable whose current value is "true" or "false" only accepts
#     "true" or "false";
#   * --help / -h prints $help_message to stderr and exits 0 (without a
#     help_message: the script's leading comment block, shebang excluded);
#   * command_line is set to the invocation, quoted for the shell, to record
#     in results files (it is not an option);
#   * --config FILE sources FILE (shell var=value lines) before the other
#     options are applied, so command-line options override the config file
#     wherever they appear;
#   * parsing stops at the first argument that is not an option (or after
#     "--", which is removed); the positional arguments are left in "$@".
# Works under "set -euo pipefail".  All helper variables and functions are
# prefixed with _po_ and removed again before returning.

_po_command_line="$0$([ $# -eq 0 ] || printf " %q" "$@")"

# Lists the variables that options may set, as "--name" words.
_po_valid_options() {
  local _po_v _po_list=""
  for _po_v in $(compgen -v | LC_ALL=C sort); do
    case "$_po_v" in
      _po_*|help_message|command_line) continue ;;
    esac
    # Options are the script's own lower-case scalar variables (not
    # exported, read-only, arrays or name references).
    [[ "$_po_v" =~ ^[a-z][a-z0-9_]*$ ]] || continue
    [[ "$(declare -p "$_po_v" 2>/dev/null)" =~ ^declare\ -[a-zA-Z]*[xraAn] ]] && continue
    _po_list+=" --${_po_v//_/-}"
  done
  echo "${_po_list# }"
}

_po_die() {
  echo "$0: $*" >&2
  exit 1
}

# First pass: source every --config file, so that the options given on the
# command line override what the config files say.
_po_i=1
while [ "$_po_i" -le $# ]; do
  _po_arg=${!_po_i}
  case "$_po_arg" in
    --) break ;;
    --config=*|--config)
      if [ "$_po_arg" = --config ]; then
        _po_i=$((_po_i + 1))
        [ "$_po_i" -le $# ] || _po_die "option --config requires a file name"
        _po_file=${!_po_i}
      else
        _po_file=${_po_arg#--config=}
      fi
      [ -n "$_po_file" ] || _po_die "empty file name given to --config"
      [ -f "$_po_file" ] && [ -r "$_po_file" ] \
        || _po_die "cannot read config file '$_po_file' (given with --config)"
      # shellcheck disable=SC1090
      . "$_po_file" || _po_die "error while reading config file '$_po_file'"
      ;;
    --help|-h) ;;
    --*=*) ;;
    --*) _po_i=$((_po_i + 1)) ;;  # skip the option's value
    *) break ;;
  esac
  _po_i=$((_po_i + 1))
done

# Second pass: apply the options.
while [ $# -gt 0 ]; do
  case "$1" in
    --)
      shift
      break
      ;;
    --help|-h)
      [ -n "${help_message:-}" ] || help_message=$(awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0")
      if [ -n "${help_message:-}" ]; then
        printf '%b\n' "$help_message" >&2
      else
        echo "$0: no help message available." >&2
        echo "Options: $(_po_valid_options)" >&2
      fi
      exit 0
      ;;
    --*=*)
      _po_opt=${1%%=*}
      _po_val=${1#*=}
      shift
      ;;
    --*)
      _po_opt=$1
      [ $# -ge 2 ] || _po_die "option $_po_opt requires a value"
      _po_val=$2
      shift 2
      ;;
    *)
      break
      ;;
  esac

  [ "$_po_opt" = --config ] && continue   # already handled above

  _po_name=${_po_opt#--}
  _po_name=${_po_name//-/_}
  if ! [[ "$_po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!_po_name+set}" ] \
       || [[ "$_po_name" == _po_* ]]; then
    _po_die "invalid option $_po_opt; valid options are: $(_po_valid_options)"
  fi
  _po_old=${!_po_name}
  if [ "$_po_old" = true ] || [ "$_po_old" = false ]; then
    if [ "$_po_val" != true ] && [ "$_po_val" != false ]; then
      _po_die "option $_po_opt expects \"true\" or \"false\", got '$_po_val'"
    fi
  fi
  if [ "$_po_name" = cmd ] && [ -z "$_po_val" ]; then
    _po_die "empty argument to --cmd option"
  fi
  printf -v "$_po_name" '%s' "$_po_val"
done

command_line=$_po_command_line
unset -v _po_i _po_arg _po_file _po_opt _po_val _po_name _po_old _po_command_line
unset -f _po_valid_options _po_die
true
