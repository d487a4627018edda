"""Recipes for corpora that are not on this machine run unchanged on fake trees with the
official layout: data preparation, features and CMVN, and speaker-independent folds."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_corpus_prep import make_crema, make_iemocap, make_ravdess, make_tess


def _copy_recipe(name: str, dst: Path) -> Path:
    """The recipe's files in a scratch folder; its symlinks point back into the repository."""
    src = REPO / "egs" / name
    out = dst / name
    out.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.is_symlink():
            os.symlink(os.path.realpath(entry), out / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, out / entry.name)
        else:
            shutil.copy2(entry, out / entry.name)
    return out


@pytest.mark.parametrize("corpus, maker, option, folds", [
    ("ravdess", make_ravdess, "--ravdess-root", 6),
    ("tess", make_tess, "--tess-root", 2),
    ("crema_d", make_crema, "--crema-d-root", 5),
    ("iemocap", make_iemocap, "--iemocap-root", 5),
])
def test_recipe_prepares_features_and_folds(tmp_path, corpus, maker, option, folds):
    root = maker(tmp_path / "release")
    recipe = _copy_recipe(corpus, tmp_path / "egs")
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run(["./run.sh", option, str(root), "--stop-stage", "3", "--nj", "1"],
                          cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (recipe / "data" / "all" / "feats.scp").is_file() and (recipe / "data" / "all" / "cmvn.scp").is_file()
    made = sorted(p.name for p in (recipe / "data" / "folds").glob("fold*") if p.is_dir())
    assert len(made) == folds
    for fold in made:
        assert (recipe / "data" / "folds" / fold / "test" / "feats.scp").is_file()
