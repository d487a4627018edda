"""slurm.pl on a real one-node Slurm cluster (tools/slurm_local.sh): a job array with a failing
task, and a recipe's training stage with train_cmd=slurm.pl.

Skips, saying why, where Slurm is not installed or the test does not run as root; .ci/run
installs Debian's slurm-wlm and munge when it runs as root, so CI runs it."""
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY_RECIPE_CONFIG, UTILS, copy_recipe, make_tess

SLURM_LOCAL = REPO / "tools" / "slurm_local.sh"

missing = [exe for exe in ("sbatch", "slurmctld", "slurmd", "munged") if not shutil.which(exe, path=os.environ["PATH"]
                                                                                       + ":/usr/sbin:/sbin")]
pytestmark = [
    pytest.mark.skipif(bool(missing), reason=f"Slurm is not installed ({', '.join(missing)} not found); "
                       "as root: apt-get install slurm-wlm munge"),
    pytest.mark.skipif(os.geteuid() != 0, reason="starting slurmd needs root (tools/slurm_local.sh)"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    port = random.Random(os.getpid()).randrange(20000, 40000, 2)  # not the system's 6817, not another run's
    env = dict(os.environ, PATH=f"{os.environ['PATH']}:/usr/sbin:/sbin")
    start = subprocess.run([str(SLURM_LOCAL), "start", "--state-dir", str(state), "--port", str(port)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    yield dict(env, SLURM_CONF=str(state / "slurm.conf"))
    subprocess.run([str(SLURM_LOCAL), "stop", "--state-dir", str(state)], capture_output=True, env=env, timeout=60)


@pytest.mark.timeout(300)
def test_a_job_array_runs_on_slurm_and_failures_name_their_logs(cluster, tmp_path):
    command = ["echo", "task", "JOB", "on", "$(hostname)", ";", "[", "JOB", "-ne", "3", "]"]  # run.pl's word rules
    proc = subprocess.run([str(UTILS / "slurm.pl"), "JOB=1:4", "log/t.JOB.log"] + command, cwd=tmp_path, env=cluster,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1
    assert "1 / 4 failed, log is in log/t.*.log" in proc.stderr
    for k in (1, 2, 3, 4):
        log = (tmp_path / "log" / f"t.{k}.log").read_text()
        assert f"task {k} on " in log and log.splitlines()[-1].startswith(f"# Ended (code {int(k == 3)})")
    assert "slurm.pl: job 3 running on" in (tmp_path / "log" / "q" / "t.3.out").read_text()  # Slurm ran it


@pytest.mark.timeout(600)
def test_a_recipe_trains_its_folds_through_slurm(cluster, tmp_path):
    root = make_tess(tmp_path / "release")
    recipe = copy_recipe("tess", tmp_path / "egs")
    (recipe / "conf" / "tiny.yaml").write_text(TINY_RECIPE_CONFIG)
    (recipe / "cmd.sh").unlink()  # a link into the repository: replace it, as a user edits their copy
    (recipe / "cmd.sh").write_text('export train_cmd="slurm.pl"\nexport feat_cmd="run.pl"\n')
    env = dict(cluster, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{cluster['PATH']}")
    cmd = ["./run.sh", "--tess-root", str(root), "--nj", "1", "--train-configs", "conf/tiny.yaml", "--stop-stage", "4"]
    proc = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp = recipe / "exp" / "tiny"
    assert len(list(exp.glob("fold*/final.pt"))) == 2
    assert (exp / "log" / "q" / "train.sh").is_file()  # slurm.pl's batch script: it went through sbatch
    assert sorted(p.name for p in (exp / "log" / "q").glob("train.*.out")) == ["train.1.out", "train.2.out"]
    for k in (1, 2):
        assert (exp / "log" / f"train.{k}.log").read_text().splitlines()[-1].startswith("# Ended (code 0)")
