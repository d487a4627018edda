"""Seed ensembles (train.ensemble: N): members trained with their own seeds, resumed member by
member, combined into one model that scores, exports and quantizes like any other."""
import json
import sys

import numpy as np
import pytest
import torch
import yaml

from conftest import DIM, LABELS, TINY_MODEL, make_checkpoint, make_feature_dir, run_script
from serkit.errors import ConfigError, SerkitError
from serkit.models import build_model, model_from_checkpoint
from serkit.train.checkpoint import load_checkpoint
from serkit.train.ensemble import combine_members

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def test_ensemble_averages_its_members_log_posteriors(tmp_path):
    paths = []
    for seed in (1, 2, 3):
        paths.append(tmp_path / f"m{seed}.pt")
        torch.save(make_checkpoint(seed=seed), paths[-1])
    model = model_from_checkpoint(combine_members(paths))
    members = [model_from_checkpoint(load_checkpoint(p)) for p in paths]
    feats, lengths = torch.randn(2, 50, DIM), torch.tensor([50, 31])
    with torch.no_grad():
        want = torch.stack([torch.log_softmax(m(feats, lengths), -1) for m in members]).mean(0)
        got = model(feats, lengths)
    torch.testing.assert_close(got, want)
    assert not torch.allclose(torch.log_softmax(members[0](feats, lengths), -1), want)  # the members differ
    other = make_checkpoint(seed=4)
    other["labels"] = list(reversed(LABELS))
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(SerkitError, match="differs .* in labels"):
        combine_members(paths[:1] + [tmp_path / "other.pt"])
    with pytest.raises(ConfigError, match="cannot be ensembles"):
        build_model("ensemble", {"member": "ensemble"}, DIM, len(LABELS))


def test_cli_trains_resumes_and_ships_a_seed_ensemble(tmp_path):
    train = make_feature_dir(tmp_path, "train", speakers=("a", "b", "c"), seed=1)
    conf = tmp_path / "train.yaml"
    conf.write_text(yaml.safe_dump({
        "model": {"name": "parallel_crnn", **TINY_MODEL},
        "data": {"batch_size": 8, "max_frames": 60, "spec_augment": {"enabled": False}},
        "optim": {"lr": 0.01}, "scheduler": {"name": "cosine"},
        "train": {"max_epochs": 2, "early_stop_patience": 0, "average_best": 1, "num_threads": 1, "ensemble": 2, "seed": 5},
    }))
    exp = tmp_path / "exp"
    base = [sys.executable, "-m", "serkit.bin.train", "--config", conf, "--train-data", train, "--exp-dir", exp]
    out = run_script(base)
    assert "ensemble of 2 models" in out.stdout
    seeds = [yaml.safe_load((exp / f"member{i}" / "config.yaml").read_text())["train"]["seed"] for i in (1, 2)]
    assert seeds == [5, 6]
    final = load_checkpoint(exp / "final.pt")
    assert final["model_name"] == "ensemble" and final["model_options"]["members"] == 2
    members = [load_checkpoint(exp / f"member{i}" / "final.pt") for i in (1, 2)]
    for i, m in enumerate(members):
        for k, v in m["model"].items():
            assert torch.equal(final["model"][f"members.{i}.{k}"], v)
    w = [torch.cat([v.flatten().float() for k, v in m["model"].items() if v.is_floating_point()]) for m in members]
    assert not torch.allclose(w[0], w[1])  # two seeds, two models
    summary = json.loads((exp / "train_summary.json").read_text())
    assert summary["epochs_run"] == 4 and len(json.loads((exp / "history.json").read_text())["epochs"]) == 4
    # interrupted in member 2 after its first epoch: --resume keeps member 1 and continues member 2
    (exp / "final.pt").unlink()
    (exp / "member2" / "final.pt").unlink()
    (exp / "member2" / "epoch_2.pt").unlink()
    again = run_script(base + ["--resume"])
    assert "member 1 of 2: " in again.stderr and "final.pt exists" in again.stderr
    resumed = load_checkpoint(exp / "member2" / "final.pt")
    for k, v in members[1]["model"].items():
        torch.testing.assert_close(resumed["model"][k], v)  # resuming reproduces the uninterrupted member
    assert "training is complete" in run_script(base + ["--resume"]).stdout
    refused = run_script(base + ["--checkpoint", exp / "member1" / "epoch_1.pt"], check=False)
    assert refused.returncode == 1 and "resumes its members with --resume" in refused.stderr
    run_script([sys.executable, "-m", "serkit.bin.predict", "--model", exp / "final.pt", "--data", train, "--out-dir", tmp_path / "dec"])
    preds = dict(line.split() for line in (tmp_path / "dec" / "utt2pred").read_text().splitlines())
    assert set(preds) == set(dict(line.split() for line in (train / "utt2emo").read_text().splitlines()))
    info = json.loads(run_script([sys.executable, "-m", "serkit.bin.model_info", "--config", conf, "--input-dim", "24",
                                  "--num-classes", "3"]).stdout)
    single = build_model("parallel_crnn", TINY_MODEL, 24, 3)
    assert info["model"] == "parallel_crnn x 2 (seed ensemble)"
    assert info["parameters"] == 2 * sum(p.numel() for p in single.parameters()) and info["ensemble_members"] == 2


def test_ensemble_exports_to_onnx_with_parity(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    paths = []
    for seed in (1, 2):
        paths.append(tmp_path / f"m{seed}.pt")
        torch.save(make_checkpoint(seed=seed), paths[-1])
    torch.save(combine_members(paths), tmp_path / "final.pt")
    run_script([sys.executable, "-m", "serkit.bin.export", "--model", tmp_path / "final.pt", "--out-dir", tmp_path / "e",
                "--no-torchscript", "--latency-repeats", "0"])
    model = model_from_checkpoint(load_checkpoint(tmp_path / "final.pt"))
    sess = ort.InferenceSession(str(tmp_path / "e" / "model.onnx"))
    feats = np.random.default_rng(0).normal(size=(1, 40, DIM)).astype(np.float32)
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, dict(zip(names, [feats, np.array([40], dtype=np.int64)])))[0]
    with torch.no_grad():
        want = torch.softmax(model(torch.from_numpy(feats), torch.tensor([40])), -1).numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)  # the graph's output: posteriors
