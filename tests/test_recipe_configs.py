"""Every training config a recipe ships loads and gives a model that runs on features of its width."""
import pytest
import torch
import yaml

from conftest import REPO
from serkit.models import build_model, uses_text
from serkit.train.config import load_train_config

CONFIGS = sorted(p for p in (REPO / "egs").glob("*/conf/**/*.yaml")
                 if not p.is_symlink() and "model" in (yaml.safe_load(p.read_text()) or {}))


def test_the_recipes_ship_training_configs():
    assert len(CONFIGS) >= 40
    assert REPO / "egs" / "cross_corpus" / "conf" / "tuning" / "train_prosody.yaml" in CONFIGS


@pytest.mark.parametrize("conf", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "egs")))
def test_training_config_builds_a_model_that_runs(conf):
    config = load_train_config(conf)
    options = dict(config.model.options)
    dim = 128 + int(options.get("prosody_dim", 0))  # log-mel, plus the prosody stream's columns
    if uses_text(config.model.name):
        options.setdefault("vocab_size", config.data.text.vocab_size)
        assert build_model(config.model.name, options, dim, 4) is not None
        return
    model = build_model(config.model.name, options, dim, 4).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 120, dim), torch.tensor([120, 90]))
    assert out.shape == (2, 4) and torch.isfinite(out).all()
