"""The text and fusion models (shapes, padding invariance, the text really used, no-text input)
and late fusion of posteriors (the weight tuned on dev, the CLI's outputs)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TINY_MODEL, run_script
from serkit.data.table import KeyTable, read_table, write_table
from serkit.data.table import write_label_list
from serkit.errors import ConfigError, SerkitError
from serkit.feats.ark import AtomicArkWriter
from serkit.models import MODELS, build_model, run_model, uses_text
from serkit.models.profile import flops_per_second_of_audio
from serkit.score import late_fusion as lf

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


TEXT = {"vocab_size": 30, "text_embed_dim": 8, "text_hidden": 8, "text_attention_hidden": 4}
MODELS_WITH_TEXT = {
    "text_only": TEXT,
    "early_fusion": {**TINY_MODEL, **TEXT, "text_proj_dim": 6},
    "intermediate_fusion": {**TINY_MODEL, **TEXT, "cross_dim": 8, "cross_heads": 2},
}
CASES = [(name, enc) for name in MODELS_WITH_TEXT for enc in ("lstm", "transformer")]


def _model(name, encoder="lstm", seed=0):
    torch.manual_seed(seed)
    return build_model(name, {**MODELS_WITH_TEXT[name], "text_encoder": encoder}, 24, 4).eval()


def _inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(3, 60, 24, generator=gen)
    tokens = torch.randint(2, 30, (3, 7), generator=gen)
    return feats, torch.tensor([60, 41, 17]), tokens, torch.tensor([7, 4, 0])


def test_registry_knows_which_models_read_text():
    assert {"text_only", "early_fusion", "intermediate_fusion"} <= set(MODELS)
    assert all(uses_text(n) for n in MODELS_WITH_TEXT) and not uses_text("parallel_crnn") and not uses_text("crnn")
    audio = build_model("parallel_crnn", TINY_MODEL, 24, 4).eval()
    feats, lengths, tokens, token_lengths = _inputs()
    assert run_model(audio, feats, lengths, tokens, token_lengths).shape == (3, 4)  # acoustic: tokens ignored
    with pytest.raises(SerkitError, match="model 'early_fusion' reads transcripts but got no tokens"):
        run_model(_model("early_fusion"), feats, lengths)
    with pytest.raises(ConfigError, match="vocab_size is not set"):
        build_model("text_only", {}, 24, 4)
    with pytest.raises(ConfigError, match="text_encoder 'gru' is not lstm or transformer"):
        build_model("early_fusion", {**TEXT, "text_encoder": "gru"}, 24, 4)
    with pytest.raises(ConfigError, match="reading transcripts too: early_fusion, intermediate_fusion, text_only"):
        build_model("late_fusion", {}, 24, 4)
    # model_info's cost figures work for text models (a transcript of 4 pieces per second)
    assert flops_per_second_of_audio(_model("intermediate_fusion"), 24) > flops_per_second_of_audio(audio, 24)


@pytest.mark.parametrize("name,encoder", CASES)
def test_forward_shapes_and_padding_invariance(name, encoder):
    model = _model(name, encoder)
    feats, lengths, tokens, token_lengths = _inputs()
    with torch.no_grad():
        logits = model(feats, lengths, tokens, token_lengths)
        assert logits.shape == (3, 4) and torch.isfinite(logits).all()
        for i in range(3):  # each utterance alone == the same utterance in the padded batch
            t, n = int(lengths[i]), max(int(token_lengths[i]), 1)
            alone = model(feats[i:i + 1, :t], lengths[i:i + 1], tokens[i:i + 1, :n], token_lengths[i:i + 1])
            assert torch.allclose(alone, logits[i:i + 1], atol=1e-5), (name, encoder, i)
        # padding content is never read: garbage past the lengths changes nothing
        noisy_feats, noisy_tokens = feats.clone(), tokens.clone()
        noisy_feats[1, 41:] = 50.0
        noisy_tokens[1, 4:] = 29
        noisy_tokens[2] = 13  # the utterance without text: its (padding) tokens are ignored
        assert torch.allclose(model(noisy_feats, lengths, noisy_tokens, token_lengths), logits, atol=1e-5)


@pytest.mark.parametrize("name", ["early_fusion", "intermediate_fusion"])
def test_fusion_models_use_the_text_and_the_audio(name):
    model = _model(name)
    feats, lengths, tokens, token_lengths = _inputs()
    with torch.no_grad():
        base = model(feats, lengths, tokens, token_lengths)
        other_words = model(feats, lengths, torch.roll(tokens, 1, dims=1), token_lengths)
        no_text = model(feats, lengths, tokens, torch.zeros(3, dtype=torch.long))
        other_audio = model(feats.flip(1), lengths, tokens, token_lengths)
    for changed in (other_words, no_text, other_audio):
        assert (changed[:2] - base[:2]).abs().max() > 1e-4
    assert torch.allclose(other_words[2], base[2])  # row 2 has no text either way


def test_text_only_ignores_audio_and_learns_a_no_text_input():
    model = _model("text_only")
    feats, lengths, tokens, token_lengths = _inputs()
    with torch.no_grad():
        base = model(feats, lengths, tokens, token_lengths)
        assert torch.allclose(model(torch.randn_like(feats), lengths, tokens, token_lengths), base)
        assert not torch.allclose(model(feats, lengths, torch.roll(tokens, 1, dims=1), token_lengths)[:2], base[:2])
    model.train()
    loss = model(feats, lengths, tokens, torch.zeros(3, dtype=torch.long)).sum()
    loss.backward()
    assert model.text.no_text.grad.abs().sum() > 0  # the learned "no text" vector is trained
    assert model.text.embed.weight.grad.abs().sum() == 0  # and nothing else of the text side is


def test_intermediate_fusion_weights_are_masked_to_the_audio():
    model = _model("intermediate_fusion")
    feats, lengths, tokens, token_lengths = _inputs()
    with torch.no_grad():
        fused, weights = model.encode(feats, lengths, tokens, token_lengths)
    frames = (lengths // model.time_stride).tolist()
    assert weights.shape == (3, 60 // model.time_stride)
    assert torch.allclose(weights.sum(1), torch.ones(3), atol=1e-5)
    assert frames[1] < weights.shape[1] and frames[2] < weights.shape[1]
    for i, n in enumerate(frames):
        assert weights[i, n:].abs().sum() == 0


# ----------------------------------------------------------------------------- late fusion

LABELS = ["angry", "happy", "sad"]


def _post(utts, probs, labels=LABELS, source="x"):
    return lf.Posteriors(list(utts), list(labels), np.asarray(probs, dtype=np.float64), source)


def _ref(utts, refs):
    table = KeyTable("ref")
    table.update(zip(utts, refs))
    return table


def _noisy(refs, accuracy, rng, sharp=0.8, unsure=0.45):
    """Posteriors right for a share ``accuracy`` of the utterances, a wrong class otherwise; as
    with real models, more confident (``sharp``) when right than when wrong (``unsure``)."""
    out = []
    for r in refs:
        right = rng.random() < accuracy
        k = LABELS.index(r) if right else (LABELS.index(r) + int(rng.integers(1, 3))) % 3
        top = sharp if right else unsure
        p = np.full(3, (1 - top) / 2)
        p[k] = top
        out.append(p)
    return np.array(out)


def test_late_fusion_weight_follows_the_better_model():
    rng = np.random.default_rng(0)
    utts = [f"u{i:03d}" for i in range(90)]
    refs = [LABELS[i % 3] for i in range(90)]
    ref = _ref(utts, refs)
    onehot = np.eye(3)[[LABELS.index(r) for r in refs]]
    text = _post(utts, _noisy(refs, 0.6, rng))
    weight, grid = lf.tune_weight(_post(utts, onehot), text, ref)
    assert weight == 1.0 and len(grid) == 21  # a perfect audio model: all on audio
    weight, _ = lf.tune_weight(_post(utts, _noisy(refs, 0.6, rng)), _post(utts, onehot), ref)
    assert weight == 0.0  # a perfect text model: all on text
    # two complementary, imperfect models: the fusion beats both, with a weight inside (0, 1)
    audio = _post(utts, _noisy(refs, 0.7, rng))
    weight, grid = lf.tune_weight(audio, text, ref)
    best = {r["weight"]: r["ua"] for r in grid}
    assert 0 < weight < 1 and best[weight] > max(best[0.0], best[1.0])
    # the class order of the second model does not matter; rows follow the first model's utterances
    flipped = _post(utts[::-1], text.probs[::-1][:, [2, 0, 1]], labels=[LABELS[2], LABELS[0], LABELS[1]])
    assert lf.tune_weight(audio, flipped, ref)[0] == weight
    assert np.allclose(lf.fuse(audio.probs, text.probs, 0.3, "loglinear").sum(1), 1.0)
    with pytest.raises(SerkitError, match="no posteriors for"):
        lf.tune_weight(audio, _post(utts[:-1], text.probs[:-1]), ref)
    with pytest.raises(SerkitError, match="are not those of the other model"):
        lf.tune_weight(audio, _post(utts, text.probs, labels=["a", "b", "c"]), ref)


def _decode_dir(path, utts, probs):
    path.mkdir(parents=True)
    with AtomicArkWriter(path / "posteriors.ark", path / "posteriors.scp") as w:
        for u, p in zip(utts, probs):
            w.write(u, np.asarray(p, dtype=np.float32))
    write_label_list(path / "labels.txt", LABELS)
    return path


def test_late_fusion_cli_writes_a_scorable_decode_folder(tmp_path):
    rng = np.random.default_rng(1)
    dirs = {}
    for split, n in (("dev", 60), ("test", 45)):
        utts = [f"{split}{i:03d}" for i in range(n)]
        refs = [LABELS[i % 3] for i in range(n)]
        write_table(tmp_path / f"{split}.utt2emo", dict(zip(utts, refs)))
        dirs[split] = (_decode_dir(tmp_path / f"audio_{split}", utts, _noisy(refs, 0.7, rng)),
                       _decode_dir(tmp_path / f"text_{split}", utts, _noisy(refs, 0.6, rng)))
    out = tmp_path / "late"
    run_script(["python", "-m", "serkit.bin.late_fusion", "--dev-ref", tmp_path / "dev.utt2emo",
                "--test-ref", tmp_path / "test.utt2emo", "--audio-dev", dirs["dev"][0], "--text-dev", dirs["dev"][1],
                "--audio-test", dirs["test"][0], "--text-test", dirs["test"][1], "--out-dir", out])
    report = json.loads((out / "late_fusion.json").read_text())
    assert report["rule"] == "linear" and 0 <= report["weight_audio"] <= 1 and len(report["dev_grid"]) == 21
    assert report["dev"]["fused"]["ua"] >= max(report["dev"]["audio"]["ua"], report["dev"]["text"]["ua"])
    pred = read_table(out / "decode_test" / "utt2pred")
    assert len(pred) == 45 and set(pred.values()) <= set(LABELS)
    fused = lf.read_posteriors(out / "decode_test")
    w = report["weight_audio"]
    want = w * lf.read_posteriors(dirs["test"][0]).probs + (1 - w) * lf.read_posteriors(dirs["test"][1]).probs
    assert np.allclose(fused.probs, want, atol=1e-6)
    run_script(["python", "-m", "serkit.bin.compute_metrics", tmp_path / "test.utt2emo", out / "decode_test" / "utt2pred",
                tmp_path / "scores"])
    scored = json.loads((tmp_path / "scores" / "scores.json").read_text())
    assert abs(scored["ua"] - report["test"]["fused"]["ua"]) < 1e-9



def test_late_fusion_cli_with_a_fixed_weight_needs_no_dev_set(tmp_path):
    """How the recipes fuse a model with the SVM: no dev inputs, the test posteriors averaged;
    the second model's classes in another order are aligned by name."""
    rng = np.random.default_rng(2)
    utts = [f"u{i:02d}" for i in range(30)]
    refs = [LABELS[i % 3] for i in range(30)]
    write_table(tmp_path / "test.utt2emo", dict(zip(utts, refs)))
    first = _decode_dir(tmp_path / "crnn", utts, _noisy(refs, 0.6, rng))
    second = _decode_dir(tmp_path / "svm", utts, _noisy(refs, 0.6, rng))
    flipped = lf.read_posteriors(second)
    write_label_list(second / "labels.txt", LABELS[::-1])  # the same posteriors, columns named in reverse
    with AtomicArkWriter(second / "posteriors.ark", second / "posteriors.scp") as writer:
        for utt, row in zip(flipped.utts, flipped.probs):
            writer.write(utt, row[::-1].astype(np.float32))
    out = tmp_path / "fused"
    proc = run_script(["python", "-m", "serkit.bin.late_fusion", "--weight", "0.5", "--first-test", first,
                       "--second-test", second, "--test-ref", tmp_path / "test.utt2emo", "--out-dir", out])
    assert "(fixed)" in proc.stdout and not (out / "decode_dev").exists()
    want = 0.5 * lf.read_posteriors(first).probs + 0.5 * flipped.probs
    assert np.allclose(lf.read_posteriors(out / "decode_test").probs, want, atol=1e-6)
    report = json.loads((out / "late_fusion.json").read_text())
    assert report["weight_audio"] == 0.5 and report["dev_grid"] == [] and "dev" not in report
    bad = subprocess.run([sys.executable, "-m", "serkit.bin.late_fusion", "--first-test", first, "--second-test", second,
                          "--out-dir", out], capture_output=True, text=True)
    assert bad.returncode != 0 and "or a fixed --weight" in bad.stderr


# ----------------------------------------------------------------------------- ONNX export


def _state(name, encoder="lstm"):
    from serkit.text.tokenizer import TextConfig, train_sentencepiece

    model = _model(name, encoder)
    return {"model": model.state_dict(), "model_name": name, "input_dim": 24, "labels": ["a", "b", "c", "d"],
            "model_options": {**MODELS_WITH_TEXT[name], "text_encoder": encoder},
            "spm_model": train_sentencepiece(["the cat sat on the mat"] * 5, TextConfig(enabled=True, vocab_size=20)),
            "config": {"data": {"text": {"enabled": True, "vocab_size": 20}}}}


def test_text_models_export_to_onnx_with_their_tokenizer(tmp_path):
    pytest.importorskip("onnxruntime")
    from serkit.export.onnx_export import read_onnx_card
    from serkit.text.onnx_export import METADATA_KEY, export_text_onnx
    from serkit.text.tokenizer import Tokenizer

    state = _state("intermediate_fusion")
    info = export_text_onnx(state, tmp_path / "fused.onnx")
    assert info["inputs"] == ["feats", "lengths", "tokens", "token_lengths"] and info["check_max_abs_diff"] < 1e-4
    card = read_onnx_card(tmp_path / "fused.onnx", key=METADATA_KEY)
    import base64

    assert Tokenizer(base64.b64decode(card["spm_model_base64"])).model_bytes == state["spm_model"]
    assert export_text_onnx(_state("text_only"), tmp_path / "text.onnx")["inputs"] == ["tokens", "token_lengths"]
    with pytest.raises(SerkitError, match="text_encoder: transformer does not export"):
        export_text_onnx(_state("early_fusion", "transformer"), tmp_path / "t.onnx")
    with pytest.raises(SerkitError, match="reads no transcripts; export it with serkit.bin.export"):
        export_text_onnx({**state, "model_name": "parallel_crnn"}, tmp_path / "a.onnx")
