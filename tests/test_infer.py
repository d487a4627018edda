"""Inference: the Recognizer API, serkit-infer (inputs, outputs, per-speaker CMVN), streaming
(serkit-stream), and one-line errors for bad input."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import FEATS, LABELS, REPO, make_checkpoint, make_data_dir, voiced_signal
from serkit.errors import AudioError, SerkitError
from serkit.utils.config import to_dict

pytest.importorskip("onnxruntime")

TOL = 2e-6  # same back end, same features: only batching/float order differs (measured < 1e-7)
ONNX_TOL = 2e-6  # ONNX vs PyTorch (see test_export.py)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A checkpoint and its export (model.onnx, model.ts, model_waveform.onnx, card)."""
    from serkit.bin import export

    root = tmp_path_factory.mktemp("models")
    torch.set_num_threads(1)
    torch.save(make_checkpoint(), root / "final.pt")
    assert export.main(["--model", str(root / "final.pt"), "--out-dir", str(root / "export"), "--waveform",
                        "--latency-repeats", "0"]) == 0
    return {"pt": root / "final.pt", "onnx": root / "export" / "model.onnx", "ts": root / "export" / "model.ts",
            "wave": root / "export" / "model_waveform.onnx"}


@pytest.fixture(scope="module")
def rec(models):
    from serkit.infer import Recognizer

    return Recognizer.from_checkpoint(models["pt"])


def write(path, seconds, rate=16000, seed=0, f0=150.0):
    sig = voiced_signal(seconds, rate, f0=f0, seed=seed)
    sf.write(path, sig, rate, subtype="PCM_16", format="WAV")
    return sf.read(path, dtype="float32")[0]


def jsonl(text: str):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def infer(argv, capsys):
    from serkit.bin import infer as cmd

    assert cmd.main([str(a) for a in argv]) == 0
    return capsys.readouterr()


# ---- the Python API ------------------------------------------------------------------------------
def test_recognizer_backends_agree_and_batching_is_invisible(models, rec, caplog):
    from serkit.infer import Recognizer

    sigs = [voiced_signal(1.3, seed=1, f0=120), voiced_signal(3.7, seed=2, f0=210)]
    single = [rec.predict(s, 16000) for s in sigs]
    batch = rec.predict_batch(sigs, 16000)
    for one, many in zip(single, batch):
        assert one.label == max(one.posteriors, key=one.posteriors.get) and abs(sum(one.posteriors.values()) - 1) < 1e-5
        assert max(abs(one.posteriors[k] - many.posteriors[k]) for k in LABELS) < TOL
        assert not one.silent and one.seconds in (1.3, 3.7)
    for path in (models["onnx"], models["ts"]):
        other = Recognizer.load(path).predict_batch(sigs, 16000)
        for a, b in zip(batch, other):
            assert max(abs(a.posteriors[k] - b.posteriors[k]) for k in LABELS) < ONNX_TOL
    # another sample rate: resampled, with a note in the log
    import torchaudio.functional as AF

    at8k = AF.resample(torch.from_numpy(sigs[0]), 16000, 8000).numpy()
    with caplog.at_level(logging.INFO):
        pred = rec.predict(at8k, 8000, what="phone.wav")
    assert "phone.wav: resampling from 8000 Hz" in caplog.text
    assert max(abs(pred.posteriors[k] - single[0].posteriors[k]) for k in LABELS) < 0.05
    with pytest.raises(SerkitError, match="feature-level graph"):
        Recognizer.from_onnx(models["wave"])


# ---- serkit-infer ----------------------------------------------------------------------------------
def test_infer_files_scp_and_directory_in_every_format(models, tmp_path, capsys):
    import kaldiio

    audio = tmp_path / "audio"
    (audio / "sub").mkdir(parents=True)
    write(audio / "a.wav", 1.3, seed=1)
    write(audio / "sub" / "b.clip", 0.8, seed=2)  # audio by content, whatever the name
    (audio / "notes.txt").write_text("not audio\n")
    out = jsonl(infer(["--model", models["onnx"], audio / "a.wav", audio / "sub" / "b.clip"], capsys).out)
    assert [o["utt"] for o in out] == ["a", "b"] and set(out[0]["posteriors"]) == set(LABELS)
    assert out[0]["label"] in LABELS and out[0]["silent"] is False
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {audio / 'a.wav'}\nutt2 {audio / 'sub' / 'b.clip'}\n")
    infer(["--model", models["pt"], "--wav-scp", scp, "--format", "table", "--output", tmp_path / "t.txt"], capsys)
    rows = (tmp_path / "t.txt").read_text().splitlines()
    assert rows[0].split()[:2] == ["utt", "label"] and [r.split()[0] for r in rows[1:]] == ["utt1", "utt2"]
    infer(["--model", models["onnx"], audio, "--format", "ark", "--output", tmp_path / "post.ark"], capsys)
    got = dict(kaldiio.load_scp(str(tmp_path / "post.scp")))
    assert sorted(got) == ["a", "sub/b"]  # notes.txt is not audio
    assert np.abs(got["a"] - np.array([out[0]["posteriors"][k] for k in LABELS])).max() < 1e-5
    assert (tmp_path / "labels.txt").read_text().split() == LABELS
    infer(["--model", models["onnx"], "--wav-scp", scp, "--format", "utt2pred", "--output", tmp_path / "d" / "utt2pred"], capsys)
    preds = (tmp_path / "d" / "utt2pred").read_text().splitlines()  # a sorted Kaldi table for compute_metrics
    assert [p.split()[0] for p in preds] == ["utt1", "utt2"] and all(p.split()[1] in LABELS for p in preds)


def _training_posteriors(data, tmp_path, state):
    """Posteriors the training pipeline gives: features, per-speaker CMVN stats, load_examples, evaluate."""
    from serkit.bin import compute_cmvn_stats, compute_feats
    from serkit.loader.examples import load_examples
    from serkit.models import model_from_checkpoint
    from serkit.train.evaluate import evaluate

    conf = tmp_path / "feats.yaml"
    conf.write_text(yaml.safe_dump(to_dict(FEATS)))
    assert compute_feats.main(["--config", str(conf), str(data), str(data / "feats.ark"), str(data / "feats.scp")]) == 0
    assert compute_cmvn_stats.main(["--per-speaker", str(data), str(data / "cmvn.ark"), str(data / "cmvn.scp")]) == 0
    examples = load_examples(data, None, cmvn=True, norm_vars=True, show_progress=False)
    result = evaluate(model_from_checkpoint(state), examples, 4, torch.device("cpu"))
    return dict(zip(result.utts, result.posteriors))


def test_infer_per_speaker_cmvn_equals_training(models, tmp_path, capsys):
    data = make_data_dir(tmp_path, speakers=("spkA", "spkB"), utts_per_spk=3, seconds=0.8)
    want = _training_posteriors(data, tmp_path, torch.load(models["pt"], weights_only=False))
    for flag, table in (("--utt2spk", "utt2spk"), ("--spk2utt", "spk2utt")):
        out = jsonl(infer(["--model", models["pt"], "--wav-scp", data / "wav.scp", flag, data / table], capsys).out)
        assert sorted(o["utt"] for o in out) == sorted(want)
        for o in out:
            assert np.abs(np.array([o["posteriors"][k] for k in LABELS]) - want[o["utt"]]).max() < 1e-5
    glob = jsonl(infer(["--model", models["pt"], "--wav-scp", data / "wav.scp"], capsys).out)
    assert max(np.abs(np.array([o["posteriors"][k] for k in LABELS]) - want[o["utt"]]).max() for o in glob) > 1e-4


# ---- streaming ----------------------------------------------------------------------------------------
def test_streaming_windows_equal_offline_spans(rec):
    from serkit.infer import StreamingRecognizer

    samples = voiced_signal(3.1, seed=7, f0=180)
    stream = StreamingRecognizer(rec, window=1.0, hop=0.25)
    events, pos, rng = [], 0, np.random.default_rng(0)
    while pos < len(samples):  # irregular chunks, some smaller than a frame
        n = int(rng.integers(50, 5000))
        events += stream.push(samples[pos:pos + n])
        pos += n
    events += stream.flush()
    assert len(events) == 1 + int((3.1 - 1.0) / 0.25)  # 9
    assert [e.start for e in events] == pytest.approx([0.25 * k for k in range(9)])
    assert all(e.end - e.start == pytest.approx(1.0) and not e.partial for e in events)
    for event in events:
        span = samples[int(round(event.start * 16000)):int(round(event.end * 16000))]
        offline = rec.predict(span)
        assert max(abs(event.posteriors[k] - offline.posteriors[k]) for k in LABELS) < TOL
        assert event.label == offline.label
    summary = stream.stats.summary()
    assert summary["events"] == 9 and 0 < summary["rtf"] < 1 and summary["latency_ms_median"] > 0


def test_streaming_running_cmvn_and_short_or_silent_streams(rec):
    from serkit.infer import StreamingRecognizer

    samples = voiced_signal(2.0, seed=3)
    stream = StreamingRecognizer(rec, window=1.5, hop=0.5, cmvn="running")
    events = stream.push(samples)  # one push: the running stats cover the whole stream
    spk = rec.speaker_cmvn([rec.features(samples)])
    assert len(events) == 2
    for event in events:
        span = samples[int(round(event.start * 16000)):int(round(event.end * 16000))]
        offline = rec.predict(span, cmvn=spk)
        assert max(abs(event.posteriors[k] - offline.posteriors[k]) for k in LABELS) < TOL
    short = StreamingRecognizer(rec, window=2.0, hop=0.5)
    assert short.push(samples[:9600]) == []  # 0.6 s
    (partial,) = short.flush()
    assert partial.partial and partial.end == pytest.approx((1 + (9600 - 400) // 160 - 1) * 0.01 + 0.025)
    offline = rec.predict(samples[:int(round(partial.end * 16000))])
    assert max(abs(partial.posteriors[k] - offline.posteriors[k]) for k in LABELS) < TOL
    tiny = StreamingRecognizer(rec, window=2.0, hop=0.5)
    tiny.push(samples[:160])
    with pytest.raises(AudioError, match="10 ms long"):
        tiny.flush()
    silent = StreamingRecognizer(rec, window=1.0, hop=0.5).push(np.zeros(16000, np.float32))
    assert len(silent) == 1 and silent[0].silent


def test_stream_cli_stdin_raw_pcm_and_wav(models, tmp_path):
    pcm = (voiced_signal(2.6, seed=4) * 32767).astype("<i2").tobytes()
    cmd = [sys.executable, "-m", "serkit.bin.stream", "--model", str(models["onnx"]), "--window", "1.0", "--hop", "0.5"]
    proc = subprocess.run(cmd + ["--raw"], input=pcm, capture_output=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr.decode()
    events = jsonl(proc.stdout.decode())
    assert len(events) == 4 and [e["start"] for e in events] == [0.0, 0.5, 1.0, 1.5]
    assert all(b["end"] > a["end"] for a, b in zip(events, events[1:]))
    last = proc.stderr.decode().strip().splitlines()[-1]
    assert "4 windows" in last and "RTF" in last and "latency per hop" in last
    write(tmp_path / "a8k.wav", 2.6, rate=8000, seed=4)
    with open(tmp_path / "a8k.wav", "rb") as f:
        proc = subprocess.run(cmd + ["-"], stdin=f, capture_output=True, cwd=REPO)
    assert proc.returncode == 0 and len(jsonl(proc.stdout.decode())) == 4
    assert "resampling from 8000 Hz" in proc.stderr.decode()


# ---- bad input: one line, exit 1 -----------------------------------------------------------------------
def test_infer_unreadable_audio_and_foreign_model_subprocess(models, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00junk")
    base = [sys.executable, "-m", "serkit.bin.infer"]
    for args, words in (
        (["--model", str(models["onnx"]), str(bad)], ["broken.wav", "not readable audio"]),
        (["--model", str(bad), str(bad)], ["broken.wav", "cannot be read"]),
    ):
        proc = subprocess.run(base + args, capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("serkit-infer: ERROR:")
        assert all(w in lines[0] for w in words), lines


def _fails(main, argv, capsys, prog):
    from serkit.utils import cli

    with pytest.raises(SystemExit) as info:
        cli.run(main, [str(a) for a in argv], prog=prog)
    err = capsys.readouterr().err
    assert info.value.code == 1, err
    lines = [line for line in err.splitlines() if "ERROR" in line]
    assert len(lines) == 1 and "Traceback" not in err
    return lines[0]


def test_bad_inputs_give_clear_messages(models, tmp_path, capsys):
    from serkit.bin import infer as infer_cmd
    from serkit.bin import stream as stream_cmd

    short = tmp_path / "click.wav"
    sf.write(short, np.zeros(80, np.float32), 16000)
    silent = tmp_path / "quiet.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    good = tmp_path / "good.wav"
    write(good, 1.0)
    (tmp_path / "empty").mkdir()
    m = ["--model", models["pt"]]
    assert "click" in _fails(infer_cmd.main, m + [short], capsys, "serkit-infer")
    assert "5 ms long" in _fails(infer_cmd.main, m + [short], capsys, "serkit-infer")
    assert "does not exist" in _fails(infer_cmd.main, m + [tmp_path / "nope.wav"], capsys, "serkit-infer")
    assert "no readable audio" in _fails(infer_cmd.main, m + [tmp_path / "empty"], capsys, "serkit-infer")
    (tmp_path / "utt2spk").write_text("good spk1\n")
    assert "no speaker" in _fails(infer_cmd.main, m + [good, silent, "--utt2spk", tmp_path / "utt2spk"], capsys, "serkit-infer")
    assert "shortest input" in _fails(stream_cmd.main, m + [short, "--window", "0.01"], capsys, "serkit-stream")
    assert "5 ms long" in _fails(stream_cmd.main, m + [short], capsys, "serkit-stream")
    # --skip-errors: the bad file is logged and left out, the rest recognised; silence is flagged
    out = jsonl(infer(m + [short, silent, good, "--skip-errors"], capsys).out)
    assert [o["utt"] for o in out] == ["quiet", "good"] and out[0]["silent"] is True and out[1]["silent"] is False


# ---- every input accounted for; long inputs in bounded memory ------------------------------------
def test_every_file_of_a_folder_is_recognised_or_listed_with_its_reason(models, tmp_path, capsys, caplog):
    from serkit.bin import infer as infer_cmd

    folder = tmp_path / "calls"
    folder.mkdir()
    for i in range(9):
        write(folder / f"good{i}.wav", 0.8, seed=i)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("not audio at all\n" * 10)
    (folder / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    sf.write(folder / "click.wav", np.zeros(80, np.float32), 16000)
    (folder / "README.txt").write_text("recorded on tuesday\n")
    m = ["--model", models["pt"]]
    # without --skip-errors a file named like audio that is not stops the run, naming it
    line = _fails(infer_cmd.main, m + [folder], capsys, "serkit-infer")
    assert "empty.wav: empty file (0 bytes)" in line and "--skip-errors" in line
    with caplog.at_level(logging.INFO):
        out = jsonl(infer(m + [folder, "--skip-errors"], capsys).out)
    assert sorted(o["utt"] for o in out) == [f"good{i}" for i in range(9)]
    log = caplog.text
    assert "empty.wav: empty file (0 bytes)" in log
    assert "notes.wav: not audio (soundfile cannot read it" in log
    assert "gone.wav: dangling symbolic link" in log
    assert "README.txt: not audio" in log
    assert "'click'" in log and "5 ms long" in log
    assert "14 inputs: 9 recognised, 5 skipped" in log


def _peak_rss_mb(argv):
    """Peak resident memory of serkit-infer in a process of its own (MB)."""
    code = ("import resource, sys; from serkit.bin import infer; rc = infer.main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code] + [str(a) for a in argv], capture_output=True, text=True,
                          cwd=REPO, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return float(proc.stderr.strip().splitlines()[-1]), proc


@pytest.mark.timeout(300)
def test_long_inputs_take_bounded_memory_and_are_averaged_or_segmented(models, tmp_path):
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, voiced_signal(20.0, seed=1), 16000, subtype="PCM_16")
    sf.write(long, np.tile(voiced_signal(20.0, seed=1), 30), 16000, subtype="PCM_16")  # 10 minutes
    m = ["--model", models["onnx"], "--max-seconds", "20"]
    base_mb, _ = _peak_rss_mb(m + [short])
    long_mb, proc = _peak_rss_mb(m + [long])
    assert long_mb - base_mb < 40, (base_mb, long_mb)  # reading 10 minutes whole would take > 100 MB more
    out = jsonl(proc.stdout)
    assert len(out) == 1 and out[0]["seconds"] == 600.0
    assert "600.0 s long (over --max-seconds 20): its label is the duration-weighted mean of 30 windows" in proc.stderr
    assert "--segment 20 gives one estimate per window" in proc.stderr
    # the same audio 30 times: every window gets what the 20-second file gets, and so does the mean
    one = jsonl(_peak_rss_mb(m + [short])[1].stdout)[0]
    assert max(abs(out[0]["posteriors"][k] - one["posteriors"][k]) for k in LABELS) < 1e-4
    seg_mb, proc = _peak_rss_mb(["--model", models["onnx"], "--segment", "45", "--segment-hop", "30", long])
    assert seg_mb - base_mb < 40
    segs = jsonl(proc.stdout)
    assert [(s["start"], s["end"]) for s in segs][:2] == [(0.0, 45.0), (30.0, 75.0)]
    assert segs[-1]["end"] == 600.0 and len(segs) == 20  # 19 whole windows, then 585-600 s
    assert segs[0]["utt"] == "long-0000000-0004500" and segs[-1]["utt"] == "long-0057000-0060000"


def test_predict_flags_digital_silence(models, tmp_path):
    """serkit.bin.predict works from features, where digital silence sits at the floor and the
    model still answers confidently: the audio level decides, as in serkit-infer."""
    from conftest import UTILS, run_script
    from serkit.data.table import read_table

    data = make_data_dir(tmp_path, speakers=("spkA", "spkB"), utts_per_spk=3, emotions=("angry", "sad"))
    wav = read_table(data / "wav.scp")
    sf.write(wav["spkA-u01"], np.zeros(12000, np.float32), 16000, subtype="PCM_16")
    conf = tmp_path / "feats.yaml"
    conf.write_text(yaml.safe_dump(to_dict(FEATS)))
    run_script([UTILS / "make_feats.sh", "--nj", 1, "--config", conf, data])
    run_script([UTILS / "compute_cmvn_stats.sh", "--per-speaker", data])
    proc = run_script([sys.executable, "-m", "serkit.bin.predict", "--model", models["pt"], "--data", data,
                       "--out-dir", tmp_path / "dec"])
    assert (tmp_path / "dec" / "silent").read_text() == "spkA-u01\n"
    assert "1 utterances are silent (below -60 dBFS RMS), e.g. 'spkA-u01'" in proc.stderr
    assert "(1 silent:" in proc.stdout
    assert len(read_table(tmp_path / "dec" / "utt2pred")) == 6  # still predicted, and flagged


@pytest.mark.parametrize("feat_type", ["logmel_prosody", "pcen"])
def test_context_dependent_front_ends_recognise_files_and_stream(feat_type, tmp_path):
    """Models on front ends whose frames depend on the audio before them (openSMILE descriptors
    appended to log-mel; PCEN's smoother) work offline and in streaming: each window's features
    computed as a file's are, so windows equal offline spans."""
    if feat_type == "logmel_prosody":
        pytest.importorskip("opensmile", reason="the baseline extra (openSMILE) is not installed")
    from conftest import DIM, TINY_MODEL, utterances
    from serkit.feats.cmvn import accumulate
    from serkit.feats.config import FeatureConfig, LogMelProsodyConfig, PcenConfig
    from serkit.feats.frontends import build_frontend
    from serkit.infer import Recognizer, StreamingRecognizer
    from serkit.models import build_model
    from serkit.utils.config import to_dict

    if feat_type == "pcen":
        fconf, extra = FeatureConfig(feat_type="pcen", pcen=PcenConfig(num_mel_bins=DIM, n_fft=512)), 0
    else:
        fconf = FeatureConfig(feat_type="logmel_prosody", logmel_prosody=LogMelProsodyConfig(num_mel_bins=DIM, n_fft=512))
        extra = 25
    frontend = build_frontend(fconf)
    assert not frontend.frames_independent
    torch.manual_seed(0)
    options = {**TINY_MODEL, "prosody_dim": extra}
    model = build_model("parallel_crnn", options, DIM + extra, len(LABELS))
    torch.save({"model": model.state_dict(), "model_name": "parallel_crnn", "model_options": options, "labels": LABELS,
                "input_dim": DIM + extra, "config": {"data": {"cmvn": True, "norm_vars": True}},
                "feats_type": feat_type, "feats_config": to_dict(fconf),
                "global_cmvn": accumulate(frontend(s) for s in utterances()), "epoch": 1}, tmp_path / "final.pt")
    rec = Recognizer.from_checkpoint(tmp_path / "final.pt")
    samples = voiced_signal(2.6, seed=3, f0=200)
    offline = rec.predict(samples)
    assert offline.label in LABELS and abs(sum(offline.posteriors.values()) - 1) < 1e-4
    stream = StreamingRecognizer(rec, window=1.0, hop=0.5)
    events = [e for k in range(0, len(samples), 1600) for e in stream.push(samples[k:k + 1600])]  # 0.1 s blocks
    assert len(events) == 4
    for event in events:
        span = samples[int(round(event.start * 16000)):int(round(event.end * 16000))]
        assert max(abs(event.posteriors[k] - rec.predict(span).posteriors[k]) for k in LABELS) < TOL
    with pytest.raises(SerkitError, match="running CMVN is not supported for it"):
        StreamingRecognizer(rec, window=1.0, hop=0.5, cmvn="running")
