"""Tests for utils/run.pl and utils/slurm.pl (run as real scripts)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_PL = ROOT / "utils" / "run.pl"
SLURM_PL = ROOT / "utils" / "slurm.pl"

HEADER_RE = re.compile(r"^# Started at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d .* \d{4}$")
ACCOUNTING_RE = re.compile(r"^# Accounting: time=\d+ threads=(\d+)$")
ENDED_RE = re.compile(r"^# Ended \(code (\d+)\) at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d .* \d{4}$")


def run(script, *args, cwd, env=None, timeout=30):
    full_env = dict(os.environ)
    full_env.pop("SLURM_PL_DRY_RUN", None)
    if env:
        full_env.update(env)
    return subprocess.run([str(script), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def check_log(path, command, body_lines, code=0, threads=1):
    """Checks run.pl's log layout: command, start, output, accounting, end."""
    lines = path.read_text().splitlines()
    assert lines[0] == f"# {command}"
    assert HEADER_RE.match(lines[1]), lines[1]
    assert lines[2:-2] == body_lines
    acc = ACCOUNTING_RE.match(lines[-2])
    assert acc and int(acc.group(1)) == threads, lines[-2]
    end = ENDED_RE.match(lines[-1])
    assert end and int(end.group(1)) == code, lines[-1]


# ----------------------------------------------------------------- run.pl

def test_job_array_substitutes_job_and_creates_log_dir(tmp_path):
    r = run(RUN_PL, "JOB=1:3", "exp/foo/log/bar.JOB.log", "echo", "job", "JOB", "of", "3",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    logs = sorted(p.name for p in (tmp_path / "exp/foo/log").iterdir())
    assert logs == ["bar.1.log", "bar.2.log", "bar.3.log"]
    for i in (1, 2, 3):
        check_log(tmp_path / f"exp/foo/log/bar.{i}.log", f"echo job {i} of 3", [f"job {i} of 3"])


def test_job_range_and_custom_variable_name(tmp_path):
    r = run(RUN_PL, "N=3:5", "log/n.N.log", "echo", "index=N", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == ["n.3.log", "n.4.log", "n.5.log"]
    assert "index=4\n" in (tmp_path / "log/n.4.log").read_text()


def test_single_job_without_range(tmp_path):
    r = run(RUN_PL, "out/single.log", "echo", "JOB", "stays", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_log(tmp_path / "out/single.log", "echo JOB stays", ["JOB stays"])


def test_jobs_run_in_parallel_by_default(tmp_path):
    r = run(RUN_PL, "JOB=1:3", "log/s.JOB.log",
            "date", "+%s.%N", ">", "t.JOB", "&&", "sleep", "0.5", "&&",
            "date", "+%s.%N", ">>", "t.JOB",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    spans = [tuple(map(float, (tmp_path / f"t.{i}").read_text().split())) for i in (1, 2, 3)]
    # All three were running at the same moment.
    assert max(s for s, _ in spans) < min(e for _, e in spans)


def _max_concurrency(spans):
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans],
                    key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def test_max_jobs_run_caps_concurrency(tmp_path):
    r = run(RUN_PL, "--max-jobs-run", "2", "JOB=1:5", "log/c.JOB.log",
            "date", "+%s.%N", ">", "t.JOB", "&&", "sleep", "0.3", "&&",
            "date", "+%s.%N", ">>", "t.JOB",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    spans = [tuple(map(float, (tmp_path / f"t.{i}").read_text().split())) for i in range(1, 6)]
    assert _max_concurrency(spans) == 2


def test_failing_jobs_exit_1_and_name_the_log_glob(tmp_path):
    r = run(RUN_PL, "JOB=1:4", "exp/foo/log/bar.JOB.log", "test", "JOB", "-le", "2",
            cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "run.pl: 2 / 4 failed, log is in exp/foo/log/bar.*.log"
    check_log(tmp_path / "exp/foo/log/bar.2.log", "test 2 -le 2", [], code=0)
    check_log(tmp_path / "exp/foo/log/bar.3.log", "test 3 -le 2", [], code=1)


def test_single_failing_job_message_and_exit_code_in_log(tmp_path):
    r = run(RUN_PL, "log/one.log", "echo", "oops", "&&", "exit", "3", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "run.pl: job failed, log is in log/one.log"
    check_log(tmp_path / "log/one.log", "echo oops && exit 3", ["oops"], code=3)


def test_arguments_with_spaces_are_quoted_like_kaldi(tmp_path):
    r = run(RUN_PL, "log/q.log", "echo", "a  b", 'say "hi"', 'he said "it\'s"', "x",
            "|", "tr", "a-z", "A-Z", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_log(tmp_path / "log/q.log",
              """echo "a  b" 'say "hi"' 'he said "it'\\''s"' x | tr a-z A-Z""",
              ['A  B SAY "HI" HE SAID "IT\'S" X'])


def test_stderr_goes_to_the_log_too(tmp_path):
    r = run(RUN_PL, "log/e.log", "echo", "to-err", ">&2", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert "to-err\n" in (tmp_path / "log/e.log").read_text()


def test_cluster_options_are_accepted(tmp_path):
    r = run(RUN_PL, "--mem", "4G", "--gpu", "1", "--num-threads", "3", "--config", "conf/x.conf",
            "JOB=1:2", "log/o.JOB.log", "true", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_log(tmp_path / "log/o.2.log", "true", [], threads=3)


@pytest.mark.parametrize("args", [[], ["log/only.log"], ["--max-jobs-run", "0", "l.log", "true"],
                                  ["JOB=1:3", "no-job-var.log", "true"], ["JOB=3:1", "l.JOB.log", "true"]])
def test_bad_usage_exits_1(tmp_path, args):
    r = run(RUN_PL, *args, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(("Usage:", "run.pl:"))
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------- slurm.pl

def test_slurm_dry_run_prints_sbatch_options(tmp_path):
    r = run(SLURM_PL, "--dry-run", "--mem", "4G", "--num-threads", "2", "--gpu", "1",
            "--time", "1:00:00", "--partition", "gpu", "--max-jobs-run", "3",
            "JOB=1:4", "exp/foo/log/bar.JOB.log", "echo", "JOB", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert "\n" not in line
    words = line.split()
    assert words[0] == "sbatch"
    for opt in ["--wait", "--array=1-4%3", "--gres=gpu:1"]:
        assert opt in words
    for opt, val in [("--job-name", "bar"), ("--output", "exp/foo/log/q/bar.%a.out"),
                     ("--mem", "4G"), ("--cpus-per-task", "2"), ("--time", "1:00:00"),
                     ("--partition", "gpu")]:
        assert words[words.index(opt) + 1] == val
    assert words[-1] == "exp/foo/log/q/bar.sh"
    assert (tmp_path / "exp/foo/log/q/bar.sh").is_file()
    assert "exp/foo/log/q/bar.sh" in r.stderr
    assert not list((tmp_path / "exp/foo/log").glob("bar.*.log"))  # nothing ran


def test_slurm_dry_run_from_env_and_defaults(tmp_path):
    r = run(SLURM_PL, "--gpu", "0", "JOB=2:5", "log/x.JOB.log", "true",
            cwd=tmp_path, env={"SLURM_PL_DRY_RUN": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["sbatch", "--wait", "--array=2-5", "--job-name", "x",
                                "--output", "log/q/x.%a.out", "log/q/x.sh"]


def test_slurm_config_file_kaldi_syntax_and_extra_options(tmp_path):
    (tmp_path / "slurm.conf").write_text(
        "# site config\n"
        "command sbatch --export=ALL\n"
        "option mem=* --mem-per-cpu $0\n"
        "option gpu=* -p gpu --gres=gpu:$0\n"
        "--account=speech   # plain extra options\n")
    r = run(SLURM_PL, "--dry-run", "--config", "slurm.conf", "--mem", "2G", "--gpu", "2",
            "log/y.log", "true", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    assert words[:2] == ["sbatch", "--export=ALL"]
    assert words[words.index("--mem-per-cpu") + 1] == "2G"
    assert "--mem" not in words
    assert words[words.index("-p") + 1] == "gpu" and "--gres=gpu:2" in words
    assert "--account=speech" in words and "--array=1-1" in words


def test_slurm_unknown_option_is_an_error(tmp_path):
    r = run(SLURM_PL, "--dry-run", "--colour", "red", "log/z.log", "true", cwd=tmp_path)
    assert r.returncode == 1
    assert "--colour" in r.stderr and "--mem" in r.stderr


def test_slurm_batch_script_runs_the_task_given_by_slurm_array_task_id(tmp_path):
    r = run(SLURM_PL, "--dry-run", "--num-threads", "4", "JOB=1:3", "exp/log/t.JOB.log",
            "echo", "task  JOB", "|", "tr", "a-z", "A-Z", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    script = tmp_path / "exp/log/q/t.sh"
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="2")
    # Run by hand, as Slurm would, from another directory.
    s = subprocess.run(["bash", str(script)], cwd="/", env=env, capture_output=True,
                       text=True, timeout=30)
    assert s.returncode == 0, s.stderr
    assert sorted(p.name for p in (tmp_path / "exp/log").glob("t.*.log")) == ["t.2.log"]
    check_log(tmp_path / "exp/log/t.2.log", r'echo "task  2" | tr a-z A-Z', ["TASK  2"],
              threads=4)


def test_slurm_batch_script_records_failure(tmp_path):
    r = run(SLURM_PL, "--dry-run", "JOB=1:2", "log/f.JOB.log", "exit", "JOB", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="2")
    s = subprocess.run(["bash", "log/q/f.sh"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=30)
    assert s.returncode == 2
    check_log(tmp_path / "log/f.2.log", "exit 2", [], code=2)


def test_slurm_without_sbatch_gives_clear_error(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with perl and bash only, whatever else is installed
    bin_dir.mkdir()
    for exe in ("perl", "bash"):
        (bin_dir / exe).symlink_to(shutil.which(exe))
    r = run(SLURM_PL, "JOB=1:2", "log/n.JOB.log", "true", cwd=tmp_path, env={"PATH": str(bin_dir)})
    assert r.returncode == 1
    assert "sbatch" in r.stderr and "run.pl" in r.stderr
    assert not (tmp_path / "log").exists()
