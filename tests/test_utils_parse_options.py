"""Tests for utils/parse_options.sh, driven through small bash scripts."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARSE_OPTIONS = ROOT / "utils" / "parse_options.sh"

SCRIPT = f"""#!/usr/bin/env bash
set -euo pipefail
nj=4
feat_type=mfcc
use_gpu=false
extra_opts=
help_message="Usage: demo.sh [options] <data> <exp>\\n  --nj N    number of jobs"
. {PARSE_OPTIONS}
echo "nj=$nj"
echo "feat_type=$feat_type"
echo "use_gpu=$use_gpu"
echo "extra_opts=$extra_opts"
echo "nargs=$#"
for a in "$@"; do echo "arg=$a"; done
"""


def run_demo(tmp_path, *args, script=SCRIPT):
    path = tmp_path / "demo.sh"
    path.write_text(script)
    return subprocess.run(["bash", str(path), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)


def values(stdout):
    out = {}
    args = []
    for line in stdout.splitlines():
        key, _, val = line.partition("=")
        if key == "arg":
            args.append(val)
        else:
            out[key] = val
    return out, args


def test_defaults_without_options(tmp_path):
    r = run_demo(tmp_path, "data", "exp")
    assert r.returncode == 0, r.stderr
    vals, args = values(r.stdout)
    assert vals == {"nj": "4", "feat_type": "mfcc", "use_gpu": "false", "extra_opts": "",
                    "nargs": "2"}
    assert args == ["data", "exp"]


def test_known_options_set_variables_and_dashes_become_underscores(tmp_path):
    r = run_demo(tmp_path, "--nj", "8", "--feat-type", "fbank", "--extra-opts", "--a 1 --b 2",
                 "data", "exp")
    assert r.returncode == 0, r.stderr
    vals, args = values(r.stdout)
    assert (vals["nj"], vals["feat_type"], vals["extra_opts"]) == ("8", "fbank", "--a 1 --b 2")
    assert args == ["data", "exp"]


def test_equals_form(tmp_path):
    r = run_demo(tmp_path, "--nj=16", "--extra-opts=x=y z", "--use-gpu=true", "d")
    assert r.returncode == 0, r.stderr
    vals, args = values(r.stdout)
    assert (vals["nj"], vals["extra_opts"], vals["use_gpu"]) == ("16", "x=y z", "true")
    assert args == ["d"]


def test_empty_value_is_allowed(tmp_path):
    r = run_demo(tmp_path, "--feat-type", "", "d")
    assert r.returncode == 0, r.stderr
    assert values(r.stdout)[0]["feat_type"] == ""


def test_unknown_option_is_named_and_valid_ones_listed(tmp_path):
    r = run_demo(tmp_path, "--num-jobs", "3", "d")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "--num-jobs" in r.stderr
    for opt in ("--nj", "--feat-type", "--use-gpu", "--extra-opts"):
        assert opt in r.stderr
    assert "--help-message" not in r.stderr


def test_option_without_value_is_an_error(tmp_path):
    r = run_demo(tmp_path, "--nj")
    assert r.returncode == 1
    assert "--nj" in r.stderr and "value" in r.stderr


@pytest.mark.parametrize("value", ["yes", "1", "True", ""])
def test_boolean_option_only_accepts_true_or_false(tmp_path, value):
    r = run_demo(tmp_path, "--use-gpu", value, "d")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "--use-gpu" in r.stderr and '"true" or "false"' in r.stderr


def test_boolean_option_accepts_true(tmp_path):
    r = run_demo(tmp_path, "--use-gpu", "true", "d")
    assert r.returncode == 0, r.stderr
    assert values(r.stdout)[0]["use_gpu"] == "true"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_help_message_and_exits_0(tmp_path, flag):
    r = run_demo(tmp_path, "--nj", "3", flag, "data")
    assert r.returncode == 0
    assert r.stdout == ""
    assert r.stderr == "Usage: demo.sh [options] <data> <exp>\n  --nj N    number of jobs\n"


def test_parsing_stops_at_first_positional_argument(tmp_path):
    r = run_demo(tmp_path, "--nj", "2", "data", "--nj", "5", "-x")
    assert r.returncode == 0, r.stderr
    vals, args = values(r.stdout)
    assert vals["nj"] == "2"
    assert args == ["data", "--nj", "5", "-x"]


def test_double_dash_ends_options(tmp_path):
    r = run_demo(tmp_path, "--nj", "2", "--", "--not-an-option")
    assert r.returncode == 0, r.stderr
    assert values(r.stdout)[1] == ["--not-an-option"]


def test_config_file_is_sourced_and_command_line_wins(tmp_path):
    (tmp_path / "demo.conf").write_text("# defaults for demo\nnj=12\nfeat_type=fbank\n")
    r = run_demo(tmp_path, "--nj", "3", "--config", "demo.conf", "data")
    assert r.returncode == 0, r.stderr
    vals, args = values(r.stdout)
    assert (vals["nj"], vals["feat_type"]) == ("3", "fbank")
    assert args == ["data"]


def test_missing_config_file_is_an_error(tmp_path):
    r = run_demo(tmp_path, "--config", "nope.conf", "data")
    assert r.returncode == 1
    assert "nope.conf" in r.stderr


def test_no_helper_variables_leak_into_the_script(tmp_path):
    script = SCRIPT + 'compgen -v | grep "^_po_" || echo "clean"\n'
    r = run_demo(tmp_path, "--nj", "3", script=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "clean"


def test_help_defaults_to_the_header_comment_and_the_command_line_is_recorded(tmp_path):
    script = f"""#!/usr/bin/env bash
# A recipe.
#
#   ./demo.sh --root DIR
set -euo pipefail
root=
. {PARSE_OPTIONS}
echo "root=$root"
echo "command_line=$command_line"
"""
    r = run_demo(tmp_path, "--help", script=script)
    assert r.returncode == 0 and r.stderr == "A recipe.\n\n  ./demo.sh --root DIR\n"
    r = run_demo(tmp_path, "--root", "a dir", "x", script=script)
    vals, _ = values(r.stdout)
    assert vals["root"] == "a dir" and vals["command_line"] == f"{tmp_path / 'demo.sh'} --root a\\ dir x"
    r = run_demo(tmp_path, "--command-line", "y", script=script)
    assert r.returncode != 0 and "invalid option --command-line" in r.stderr
