"""Export: TorchScript/ONNX parity with PyTorch, dynamic batch and length, the end-to-end
waveform graph, INT8, the model card and the export command line."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import (
    DIM, LABELS, MODELS, RATE, REPO, TINY_MODEL, logmel, make_checkpoint, make_feature_dir, raw_feats,
    utterances, voiced_signal,
)
from serkit.errors import SerkitError
from serkit.feats.cmvn import accumulate, mean_std

pytest.importorskip("onnxruntime")

# Measured on this machine (torch 2.11, onnxruntime 1.32, 1.3 s + 3.7 s batch): ONNX vs PyTorch
# posteriors differ by at most 1.2e-7 at the feature level (seed_crnn; 3e-8 for the CRNNs) and by
# 3e-8 end to end, where the DFT-as-convolution front end moves the log-mel by up to 6.7e-6.
# Tolerances: about 15x the feature-level figure; end to end, room for the log-mel difference.
ONNX_TOL = 2e-6
WAVE_TOL = 2e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def model_meta(name: str = "parallel_crnn"):
    from serkit.export.card import model_and_meta

    return model_and_meta(make_checkpoint(name), "test.pt")


def normalized_batch(mean, std):
    mats = [((raw_feats(s) - mean) / std).astype(np.float32) for s in utterances()[:2]]
    lengths = np.array([len(m) for m in mats], dtype=np.int64)
    feats = np.zeros((2, lengths.max(), DIM), np.float32)
    for i, m in enumerate(mats):
        feats[i, : len(m)] = m
    return mats, feats, lengths


def alone(model, mat: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(mat)[None], torch.tensor([len(mat)])), -1)[0].numpy()


# ---- export-friendly modules ----------------------------------------------------------------
@pytest.mark.parametrize("cell,layers", [("lstm", 1), ("gru", 2)])
def test_masked_birnn_equals_packed_encoder(cell, layers):
    from serkit.export.modules import ExportableEncoder
    from serkit.models.layers import RecurrentEncoder

    torch.manual_seed(0)
    enc = RecurrentEncoder(6, 5, layers, cell, 0.0).eval()
    x = torch.randn(3, 17, 6)
    lengths = torch.tensor([17, 9, 4])
    with torch.no_grad():
        want, got = enc(x, lengths), ExportableEncoder(enc)(x, lengths)
    assert float((want - got).abs().max()) < 1e-6
    assert float(got[1, 9:].abs().max()) == 0.0  # padding stays zero, as pad_packed_sequence leaves it


def test_conv_logmel_matches_logmel():
    from serkit.export.modules import ConvLogMel

    wave = torch.from_numpy(np.stack([voiced_signal(0.5, seed=4), np.zeros(8000, np.float32)]))
    with torch.no_grad():
        want, got = logmel()(wave), ConvLogMel(logmel())(wave)
    assert want.shape == got.shape
    assert float((want - got).abs().max()) < 1e-4  # measured 6.7e-6, silence included


# ---- TorchScript and ONNX ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_torchscript_export_all_models(tmp_path, name):
    from serkit.export.onnx_export import export_torchscript
    from serkit.export.modules import FeaturePosteriors

    model, meta = model_meta(name)
    info = export_torchscript(model, meta, tmp_path / "model.ts", {"meta": meta.to_dict()})
    extra = {"serkit_model_card.json": ""}
    traced = torch.jit.load(str(tmp_path / "model.ts"), _extra_files=extra)
    assert json.loads(extra["serkit_model_card.json"])["meta"]["labels"] == LABELS
    feats = torch.randn(3, 257, DIM)  # batch and length unlike the trace's example (2 x 173)
    lengths = torch.tensor([257, 30, 111])
    with torch.no_grad():
        diff = float((traced(feats, lengths) - FeaturePosteriors(model, convert=False)(feats, lengths)).abs().max())
    assert diff < ONNX_TOL and info["check_max_abs_diff"] < ONNX_TOL


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_parity_and_dynamic_shapes(tmp_path, name):
    from serkit.export.modules import FeaturePosteriors
    from serkit.export.onnx_export import export_onnx, graph_io, ort_session

    model, meta = model_meta(name)
    info = export_onnx(model, meta, tmp_path / "model.onnx")
    assert info["opset"] >= 17
    io = graph_io(tmp_path / "model.onnx")
    assert [v["name"] for v in io["inputs"]] == ["feats", "lengths"]
    assert all(isinstance(d, str) for d in io["inputs"][0]["shape"][:2])  # batch and frames symbolic
    session = ort_session(tmp_path / "model.onnx")
    mean, std = meta.global_mean_std()
    mats, feats, lengths = normalized_batch(mean, std)  # 1.3 s (128 frames) and 3.7 s (368 frames)
    got = session.run(["posteriors"], {"feats": feats, "lengths": lengths})[0]
    if meta.padding_invariant:  # each utterance of the padded batch == that utterance alone
        want = np.stack([alone(model, m) for m in mats])
    else:  # seed_crnn ignores lengths: compare on the same padded batch
        with torch.no_grad():
            want = FeaturePosteriors(model, convert=False)(torch.from_numpy(feats), torch.from_numpy(lengths)).numpy()
    assert np.abs(got - want).max() < ONNX_TOL
    # another batch size and length than the example: a graph frozen to the example shape fails here
    for batch, frames in ((1, 45), (5, 401)):
        x = np.random.default_rng(batch).standard_normal((batch, frames, DIM)).astype(np.float32)
        n = np.linspace(frames, max(meta.min_frames, frames // 3), batch).astype(np.int64)
        out = session.run(["posteriors"], {"feats": x, "lengths": n})[0]
        with torch.no_grad():
            ref = FeaturePosteriors(model, convert=False)(torch.from_numpy(x), torch.from_numpy(n)).numpy()
        assert out.shape == (batch, len(LABELS)) and np.abs(out - ref).max() < ONNX_TOL


def test_frozen_graph_is_rejected(tmp_path):
    """The export guard fails a graph whose axes are fixed (what dynamo did to nn.LSTM)."""
    from serkit.export.modules import FeaturePosteriors
    from serkit.export.onnx_export import verify_onnx

    model, _ = model_meta()
    feats, lengths = torch.randn(2, 50, DIM), torch.tensor([50, 40])
    with torch.no_grad():
        torch.onnx.export(FeaturePosteriors(model), (feats, lengths), str(tmp_path / "frozen.onnx"), dynamo=False,
                          opset_version=17, input_names=["feats", "lengths"], output_names=["posteriors"])
    feeds = {"feats": feats.numpy(), "lengths": lengths.numpy()}
    with pytest.raises(SerkitError, match="frozen"):
        verify_onnx(tmp_path / "frozen.onnx", lambda f: None, feeds, {"feats": [0, 1], "lengths": [0]})


def test_waveform_graph_equals_pytorch_path(tmp_path):
    from serkit.export.onnx_export import export_waveform_onnx, graph_io, ort_session

    model, meta = model_meta()
    info = export_waveform_onnx(model, meta, tmp_path / "wave.onnx")
    io = graph_io(tmp_path / "wave.onnx")
    assert [v["name"] for v in io["inputs"]] == ["waveform", "wave_lengths", "cmvn_mean", "cmvn_std"]
    assert [v["optional"] for v in io["inputs"]] == [False, False, True, True]
    session = ort_session(tmp_path / "wave.onnx")
    sigs = utterances()[:2]  # 1.3 s and 3.7 s
    wave = np.zeros((2, max(map(len, sigs))), np.float32)
    for i, s in enumerate(sigs):
        wave[i, : len(s)] = s
    wave_lengths = np.array([len(s) for s in sigs], dtype=np.int64)
    mean, std = meta.global_mean_std()
    got = session.run(["posteriors"], {"waveform": wave, "wave_lengths": wave_lengths})[0]
    want = np.stack([alone(model, ((raw_feats(s) - mean) / std).astype(np.float32)) for s in sigs])
    assert np.abs(got - want).max() < WAVE_TOL, np.abs(got - want).max()
    # a speaker's own statistics passed as inputs replace the global defaults
    spk_mean, spk_std = mean_std(accumulate(raw_feats(s) for s in sigs))
    feeds = {"waveform": wave, "wave_lengths": wave_lengths,
             "cmvn_mean": spk_mean.astype(np.float32), "cmvn_std": spk_std.astype(np.float32)}
    got_spk = session.run(["posteriors"], feeds)[0]
    want_spk = np.stack([alone(model, ((raw_feats(s) - spk_mean) / spk_std).astype(np.float32)) for s in sigs])
    assert np.abs(got_spk - want_spk).max() < WAVE_TOL
    assert np.abs(got_spk - got).max() > 1e-3  # the inputs really are used
    # three utterances of another length than the export example
    three = np.stack([voiced_signal(0.9, seed=k) for k in range(3)])
    out = session.run(["posteriors"], {"waveform": three, "wave_lengths": np.array([14400, 9000, 400])})[0]
    assert out.shape == (3, len(LABELS)) and np.allclose(out.sum(1), 1, atol=1e-5)
    assert info["check_max_abs_diff"] < WAVE_TOL


def test_waveform_export_refuses_kaldi_front_ends(tmp_path):
    from serkit.export.onnx_export import export_waveform_onnx

    model, meta = model_meta()
    meta.feats_config = {**meta.feats_config, "feat_type": "fbank"}
    with pytest.raises(SerkitError, match="logmel front end only"):
        export_waveform_onnx(model, meta, tmp_path / "wave.onnx")


# ---- INT8 ------------------------------------------------------------------------------------------
def test_int8_smaller_and_same_decisions(tmp_path):
    from serkit.export.onnx_export import export_onnx, ort_session
    from serkit.export.quantize import (
        count_parameters, latency_per_audio_second, quantize_onnx_dynamic, quantize_onnx_static, save_torch_int8,
    )

    options = {**TINY_MODEL, "channels": [8, 16], "branch_dim": 32, "rnn_hidden": 64, "attention_hidden": 32}
    state = make_checkpoint("parallel_crnn", options, sharpen=20.0)
    from serkit.export.card import model_and_meta

    model, meta = model_and_meta(state, "test.pt")
    export_onnx(model, meta, tmp_path / "model.onnx")
    dyn = quantize_onnx_dynamic(tmp_path / "model.onnx", tmp_path / "model_int8.onnx")
    mean, std = meta.global_mean_std()
    rng = np.random.default_rng(0)
    mats = [((raw_feats(g * s) - mean) / std).astype(np.float32) for s in utterances() for g in (0.5, 1.0)]
    mats += [rng.standard_normal((int(rng.integers(80, 300)), DIM)).astype(np.float32) for _ in range(10)]
    stat = quantize_onnx_static(tmp_path / "model.onnx", tmp_path / "model_static.onnx", mats[:6])
    ts = save_torch_int8(model, DIM, tmp_path / "model_int8.ts")
    assert dyn.size_after < 0.6 * dyn.size_before, (dyn.size_before, dyn.size_after)
    assert ts.size_after < ts.size_before
    assert stat.path.is_file()
    fp32 = ort_session(tmp_path / "model.onnx")
    int8 = ort_session(tmp_path / "model_int8.onnx")
    static = ort_session(tmp_path / "model_static.onnx")
    traced = torch.jit.load(str(tmp_path / "model_int8.ts"))
    agree = {"dyn": 0, "static": 0, "torch": 0}
    worst = dict.fromkeys(agree, 0.0)
    for m in mats:
        feeds = {"feats": m[None], "lengths": np.array([len(m)])}
        ref = fp32.run(None, feeds)[0][0]
        with torch.no_grad():
            torch_out = traced(torch.from_numpy(m[None]), torch.tensor([len(m)])).numpy()[0]
        for key, out in (("dyn", int8.run(None, feeds)[0][0]), ("static", static.run(None, feeds)[0][0]),
                         ("torch", torch_out)):
            agree[key] += int(out.argmax() == ref.argmax())
            worst[key] = max(worst[key], float(np.abs(out - ref).max()))
    assert min(agree.values()) >= 14, agree  # most of 16 inputs
    assert max(worst.values()) < 0.05, worst  # posteriors move a little
    # BatchNorm is folded into the convolutions in ONNX: a few parameters fewer
    assert abs(count_parameters(model) - count_parameters(tmp_path / "model.onnx")) < 0.01 * count_parameters(model)
    assert 0 < latency_per_audio_second(tmp_path / "model_int8.onnx", seconds=1.0, repeats=3) < 1.0
    assert 0 < latency_per_audio_second(model, seconds=1.0, input_dim=DIM, repeats=3) < 1.0


# ---- the command line and the model card ------------------------------------------------------------
def test_export_cli_writes_files_and_card(tmp_path, capsys):
    import onnx

    from serkit.bin import export

    ckpt = tmp_path / "final.pt"
    torch.save(make_checkpoint(), ckpt)
    calib = make_feature_dir(tmp_path, "dev", dim=DIM, labels=tuple(LABELS[:3]), utts_per_spk=2)
    scores = tmp_path / "summary.json"
    scores.write_text(json.dumps({"ua": 0.61, "wa": 0.64}))
    out = tmp_path / "export"
    argv = ["--model", str(ckpt), "--out-dir", str(out), "--waveform", "--int8", "--static-int8",
            "--calib-data", str(calib), "--scores", str(scores), "--latency-repeats", "2", "--latency-seconds", "1"]
    assert export.main(argv) == 0
    table = capsys.readouterr().out
    names = ["model.ts", "model.onnx", "model_waveform.onnx", "model_int8.onnx", "model_int8.ts", "model_static_int8.onnx"]
    for name in names:
        assert (out / name).is_file() and name in table
    card = json.loads((out / "model_card.json").read_text())
    assert card["labels"] == LABELS and card["sample_rate"] == RATE
    assert card["features"]["type"] == "logmel" and card["features"]["config"]["logmel"]["num_mel_bins"] == DIM
    assert card["features"]["frames"] == "1 + (samples - 400) // 160"
    assert card["cmvn"]["mode"] == "per-speaker" and len(card["cmvn"]["global_mean"]) == DIM
    assert "cmvn_mean" in card["cmvn"]["how_to_supply"]
    assert card["metrics"] == {"ua": 0.61, "wa": 0.64}
    assert card["serkit_version"] and card["export_date"] and card["training"]["train_frames"] > 0
    assert set(card["files"]) == set(names)
    wave = card["files"]["model_waveform.onnx"]
    assert wave["opset"] >= 17 and [i["name"] for i in wave["inputs"]][:2] == ["waveform", "wave_lengths"]
    assert card["files"]["model.onnx"]["outputs"][0]["name"] == "posteriors"
    assert all(card["files"][n]["size_bytes"] > 0 and card["files"][n]["latency_s_per_audio_s_1thread"] > 0 for n in names)
    embedded = {p.key: p.value for p in onnx.load(str(out / "model_int8.onnx")).metadata_props}
    assert json.loads(embedded["serkit_model_card"])["labels"] == LABELS
    summary = json.loads((out / "export_summary.json").read_text())
    params = summary["model.onnx"]["parameters"]  # the model's, whatever the file stores
    assert all(summary[n]["parameters"] == params >= summary[n]["nonzero_parameters"] > 0 for n in names)
    assert 0 < summary["model.onnx"]["stored_values"] < params  # BatchNorm folded into the convolutions


def test_export_cli_bad_checkpoint_is_one_line(tmp_path):
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint\n")
    proc = subprocess.run([sys.executable, "-m", "serkit.bin.export", "--model", str(notes), "--out-dir", str(tmp_path / "x")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("export: ERROR:") and "notes.pt" in proc.stderr


@pytest.mark.parametrize("content,message", [
    (lambda: torch.zeros(3), "not a serkit model checkpoint"),
    (lambda: {"model": {}, "model_name": "parallel_crnn"}, "no 'model_options'"),
    (lambda: {**make_checkpoint(), "model": {}}, "weights do not fit"),
    (lambda: {k: v for k, v in make_checkpoint().items() if k != "feats_config"}, "--feats-config"),
])
def test_export_cli_foreign_checkpoints(tmp_path, capsys, content, message):
    from serkit.bin import export
    from serkit.utils import cli

    path = tmp_path / "x.pt"
    torch.save(content(), path)
    with pytest.raises(SystemExit) as exit_info:
        cli.run(export.main, ["--model", str(path), "--out-dir", str(tmp_path / "out")], prog="export")
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and message in err and err.count("\n") == 1


def test_tensorrt_is_skipped_with_a_reason_without_a_gpu(tmp_path, capsys):
    from serkit.bin import export
    from serkit.export.tensorrt import unavailable

    reason = unavailable()
    if reason is None:
        pytest.skip("TensorRT is available here: the skip path cannot be shown")
    ckpt = tmp_path / "final.pt"
    torch.save(make_checkpoint(), ckpt)
    assert export.main(["--model", str(ckpt), "--out-dir", str(tmp_path / "e"), "--no-torchscript",
                        "--latency-repeats", "0", "--tensorrt"]) == 0
    assert f"TensorRT: skipped: {reason}" in capsys.readouterr().out
    summary = json.loads((tmp_path / "e" / "export_summary.json").read_text())
    assert summary["tensorrt"] == {"status": "skipped", "reason": reason}


def test_export_refuses_text_models_with_a_pointer(tmp_path):
    from conftest import run_script

    state = make_checkpoint()
    state["model_name"] = "text_only"
    torch.save(state, tmp_path / "final.pt")
    proc = run_script([sys.executable, "-m", "serkit.bin.export", "--model", tmp_path / "final.pt",
                       "--out-dir", tmp_path / "e"], check=False)
    assert proc.returncode == 1 and "serkit.bin.export_text" in proc.stderr
