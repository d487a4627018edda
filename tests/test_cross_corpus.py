"""Cross-corpus label mapping and experiment data sets."""
import json
import sys

import pytest

from conftest import REPO, make_data_dir, run_script
from serkit.data.datadir import DataDir
from serkit.data.label_map import LabelMap, load_label_map, map_data_dir, shared_labels
from serkit.data.table import read_table
from serkit.errors import ConfigError, DataDirError


def test_the_recipe_label_map_loads_and_shares_labels():
    m = load_label_map(REPO / "egs" / "cross_corpus" / "conf" / "labels.yaml")
    assert shared_labels(m, ["emodb"], "savee") == ["angry", "disgust", "fear", "happy", "neutral", "sad"]
    assert shared_labels(m, ["emodb", "savee"], "iemocap") == ["angry", "happy", "neutral", "sad"]
    assert m.for_corpus("ravdess")["calm"] == "neutral"


def test_bad_maps_are_config_errors(tmp_path):
    conf = tmp_path / "labels.yaml"
    conf.write_text("canonical: [angry, sad]\ncorpora:\n  x: {angry: angry, sad: blue}\n")
    with pytest.raises(ConfigError, match="maps to labels \\['blue'\\]"):
        load_label_map(conf)
    m = LabelMap(["angry", "sad"], {"x": {"angry": "angry"}, "y": {"sad": "sad"}})
    with pytest.raises(ConfigError, match="share fewer than two labels"):
        shared_labels(m, ["x"], "y")
    with pytest.raises(ConfigError, match="no label mapping for corpus 'z'"):
        m.for_corpus("z")


def test_map_data_dir_merges_and_drops(tmp_path):
    d = make_data_dir(tmp_path, "c", speakers=("s1",), utts_per_spk=6, emotions=("calm", "angry", "bored"))
    counts = map_data_dir(d, tmp_path / "m", {"calm": "neutral", "angry": "angry", "bored": None})
    assert dict(counts) == {"neutral": 2, "angry": 2}
    assert sorted(set(read_table(tmp_path / "m" / "utt2emo").values())) == ["angry", "neutral"]
    assert len(DataDir(tmp_path / "m").utts) == 4
    with pytest.raises(DataDirError, match="labels \\['bored'\\] have no entry"):
        map_data_dir(d, tmp_path / "m2", {"calm": "neutral", "angry": "angry"})


def test_cross_corpus_sets_cli(tmp_path):
    data = tmp_path / "data"
    make_data_dir(data, "emodb", speakers=("03", "08", "09"), utts_per_spk=4, emotions=("angry", "bored", "sad", "happy"))
    make_data_dir(data, "savee", speakers=("DC", "JE"), utts_per_spk=4, emotions=("angry", "surprise", "sad", "happy"))
    conf = REPO / "egs" / "cross_corpus" / "conf" / "labels.yaml"
    out = run_script([sys.executable, "-m", "serkit.bin.cross_corpus_sets", "--labels", conf, "--train", "emodb",
                      "--test", "savee", "--data-root", data, "--out", tmp_path / "p1"])
    assert "on 3 labels (angry happy sad)" in out.stdout
    assert set(DataDir(tmp_path / "p1" / "dev").table("utt2spk").values()) == {"09"}
    assert set(DataDir(tmp_path / "p1" / "test").table("utt2spk").values()) == {"DC", "JE"}
    assert set(read_table(tmp_path / "p1" / "train" / "utt2emo").values()) <= {"angry", "happy", "sad"}
    run_script([sys.executable, "-m", "serkit.bin.cross_corpus_sets", "--labels", conf, "--train", "emodb",
                "--test", "emodb", "--data-root", data, "--out", tmp_path / "p2"])
    assert set(DataDir(tmp_path / "p2" / "test").table("utt2spk").values()) == {"03"}  # held out
    assert "03" not in set(DataDir(tmp_path / "p2" / "train").table("utt2spk").values())


def test_recipe_pooled_row_pretraining_and_the_general_model(tmp_path):
    """Stages 2-5 of egs/cross_corpus on two small feature-only corpora: a pair, the pooled model
    scored on each corpus's held-out speakers, and a model pre-trained for emodb without emodb."""
    import os
    import subprocess
    from pathlib import Path

    from conftest import TINY_MODEL, copy_recipe, make_feature_dir
    from serkit.train.checkpoint import load_checkpoint

    recipe = copy_recipe("cross_corpus", tmp_path / "egs")
    make_feature_dir(recipe / "data", "emodb", speakers=("03", "08", "09", "10"), utts_per_spk=9,
                     labels=("angry", "bored", "sad"), seed=1)
    make_feature_dir(recipe / "data", "savee", speakers=("DC", "JE", "JK", "KL"), utts_per_spk=9,
                     labels=("angry", "sad", "surprise"), seed=2)
    import yaml

    from serkit.feats.config import FeatureConfig, LogMelConfig
    from serkit.utils.config import dump_yaml

    for corpus in ("emodb", "savee"):  # what make_feats.sh records: the general model's export needs it
        dump_yaml(FeatureConfig(logmel=LogMelConfig(num_mel_bins=24, n_fft=512)), recipe / "data" / corpus / "feats_config.yaml")
        (recipe / "data" / corpus / "feats_type").write_text("logmel\n")
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump({
        "model": {"name": "parallel_crnn", **TINY_MODEL}, "data": {"batch_size": 8, "max_frames": 60},
        "train": {"max_epochs": 2, "early_stop_patience": 0, "average_best": 1}}))
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = ["./run.sh", "--stage", "2", "--emodb-root", "unused", "--savee-root", "unused", "--nj", "1",
           "--experiments", "emodb:savee", "--pooled", "true", "--pretrain-for", "emodb", "--general", "true",
           "--train-config", "conf/tiny.yaml", "--pretrain-config", "conf/tiny.yaml", "--baseline", "false"]
    proc = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pooled = load_checkpoint(recipe / "exp" / "pooled" / "final.pt")
    assert pooled["labels"] == ["angry", "bored", "sad", "surprise"]
    assert pooled["config"]["data"]["balance"] == "corpus_class"  # run.sh --models-balance: corpora sampled evenly
    pretrained = load_checkpoint(recipe / "exp" / "pretrain_emodb" / "final.pt")
    assert pretrained["labels"] == ["angry", "sad", "surprise"]
    assert pretrained["config"]["data"]["balance"] == "none"  # --pretrain-balance: the corpora as they come
    models = {(d / "name").read_text().strip(): d for d in (recipe / "data" / "models").iterdir()}
    trained_on = set(read_table(models["pretrain_emodb"] / "train" / "utt2spk").values())
    assert trained_on and all(s.startswith("savee-") for s in trained_on)  # no emodb speaker in its pre-training
    results = (recipe / "RESULTS.md").read_text()
    assert "| pooled |" in results and "| emodb |" in results
    pooled_emodb = [line for line in results.splitlines() if line.startswith("| pooled | emodb | angry bored sad |")]
    assert pooled_emodb and pooled_emodb[0].endswith(" | 36 / 18 / 9 |"), results  # the pooled model's data
    held = set(read_table(recipe / "data" / "pairs" / "pair2" / "test" / "utt2spk").values())
    assert held == {"emodb-03"} and "emodb-03" not in set(read_table(models["pooled"] / "train" / "utt2spk").values())
    preds = set(read_table(recipe / "exp" / "pair3" / "decode_test" / "utt2pred").values())
    assert preds <= {"angry", "sad", "surprise"}  # savee's held-out speakers: decided among savee's labels
    # the general model: every speaker of both corpora (but the dev ones), exported with the figures
    general = load_checkpoint(recipe / "exp" / "general" / "final.pt")
    assert general["num_train_utts"] == 2 * 3 * 9  # 4 speakers of 9 utterances in each corpus, 1 for dev
    card = json.loads((recipe / "exp" / "general" / "export" / "model_card.json").read_text())
    assert card["labels"] == ["angry", "bored", "sad", "surprise"]
    trained_on = card["metrics"]["trained_on"]  # the corpora (with their canonical labels) and how much data
    assert set(trained_on["corpora"]) == {"emodb", "savee"} and trained_on["train_utterances"] == 54
    assert "surprise" in trained_on["corpora"]["savee"] and "surprise" not in trained_on["corpora"]["emodb"]
    assert card["metrics"]["ua"]["pooled"]["emodb"] == pytest.approx(float(pooled_emodb[0].split("|")[5]))
    assert (recipe / "exp" / "general" / "export" / "model_int8.onnx").is_file()
    assert "serkit-infer --model" in proc.stdout and "model_int8.onnx --format table" in proc.stdout


def test_recipe_trains_a_model_once_for_pairs_with_the_same_training_set(tmp_path):
    """emodb:savee and emodb:crema_d share labels (angry, sad) and so their training set: one model,
    trained once, scores both; savee:emodb has its own."""
    import os
    import subprocess
    from pathlib import Path

    import yaml

    from conftest import TINY_MODEL, copy_recipe, make_feature_dir

    recipe = copy_recipe("cross_corpus", tmp_path / "egs")
    for seed, (corpus, speakers, labels) in enumerate([
            ("emodb", ("03", "08", "09"), ("angry", "bored", "sad")),
            ("savee", ("DC", "JE", "JK"), ("angry", "sad", "surprise")),
            ("crema_d", ("1001", "1002", "1003"), ("angry", "happy", "sad"))]):
        make_feature_dir(recipe / "data", corpus, speakers=speakers, utts_per_spk=6, labels=labels, seed=seed)
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump({
        "model": {"name": "parallel_crnn", **TINY_MODEL}, "data": {"batch_size": 8, "max_frames": 60},
        "train": {"max_epochs": 1, "early_stop_patience": 0, "average_best": 1}}))
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = ["./run.sh", "--stage", "2", "--emodb-root", "unused", "--savee-root", "unused", "--crema-d-root", "unused",
           "--nj", "1", "--experiments", "emodb:savee emodb:crema_d savee:emodb", "--train-config", "conf/tiny.yaml",
           "--baseline", "false"]  # feature-only corpora: no audio for openSMILE
    proc = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (recipe / "data" / "pairs" / "to_train").read_text().split() == ["pair1", "pair3"]
    assert (recipe / "data" / "pairs" / "pair2" / "trained_on").read_text().strip() == "data/pairs/pair1"
    assert os.path.samefile(recipe / "exp" / "pair2" / "final.pt", recipe / "exp" / "pair1" / "final.pt")
    assert sorted(p.name for p in (recipe / "exp" / "log").glob("train.*.log")) == ["train.1.log", "train.2.log"]
    preds = set(read_table(recipe / "exp" / "pair2" / "decode_test" / "utt2pred").values())
    assert preds and preds <= {"angry", "sad"}  # crema_d scored by the emodb model on the labels they share
    results = (recipe / "RESULTS.md").read_text()
    assert "| emodb | crema_d | angry sad |" in results and "| emodb | savee | angry sad |" in results


def test_folds_train_on_other_corpora_too(tmp_path):
    """fold_variants --train-extra (ser.sh --train-extra): every fold trains on its own speakers plus
    the other corpora, less their labels the fold lacks; utt2corpus lets training balance corpora."""
    import yaml

    from conftest import TINY_MODEL, make_feature_dir
    from serkit.data.ops import copy_data_dir
    from serkit.data.table import write_table

    target = make_feature_dir(tmp_path, "all", speakers=("DC", "JE", "JK"), utts_per_spk=6,
                              labels=("angry", "sad", "surprise"), seed=1)
    raw = make_feature_dir(tmp_path, "raw", speakers=("03", "08"), utts_per_spk=6, labels=("angry", "bored", "sad"), seed=2)
    extra = tmp_path / "extra"
    copy_data_dir(raw, extra, utt_prefix="emodb-", spk_prefix="emodb-")  # as pool_corpora names them
    write_table(extra / "utt2corpus", {u: "emodb" for u in DataDir(extra).utts})
    run_script([sys.executable, "-m", "serkit.bin.make_folds", "--scheme", "loso", "--dev-speakers", "0", target, tmp_path / "folds"])
    proc = run_script([sys.executable, "-m", "serkit.bin.fold_variants", "--folds-dir", tmp_path / "folds",
                       "--train-extra", extra])
    assert "left out 4 bored" in proc.stderr  # 2 speakers x 6 utterances over 3 labels: 4 bored each fold
    fold = tmp_path / "folds" / "fold1"
    own, pooled = DataDir(fold / "train"), DataDir(fold / "train_aug")
    assert set(pooled.utts) == set(own.utts) | {u for u, e in read_table(extra / "utt2emo").items() if e != "bored"}
    corpus = read_table(fold / "train_aug" / "utt2corpus")
    assert {corpus[u] for u in own.utts} == {"target"} and sum(v == "emodb" for v in corpus.values()) == 8
    assert set(read_table(fold / "train_aug" / "utt2emo").values()) == {"angry", "sad", "surprise"}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({
        "model": {"name": "parallel_crnn", **TINY_MODEL}, "data": {"batch_size": 4, "max_frames": 40, "balance": "corpus_class"},
        "scheduler": {"name": "cosine"}, "train": {"max_epochs": 1, "early_stop_patience": 0, "average_best": 1}}))
    run_script([sys.executable, "-m", "serkit.bin.train", "--config", tmp_path / "tiny.yaml", "--train-data", fold / "train_aug",
                "--exp-dir", tmp_path / "exp"])
    from serkit.train.checkpoint import load_checkpoint
    state = load_checkpoint(tmp_path / "exp" / "final.pt")
    assert state["labels"] == ["angry", "sad", "surprise"] and state["num_train_utts"] == len(pooled.utts)
    # an extra corpus with none of the fold's labels is refused, naming both
    none = tmp_path / "none"
    copy_data_dir(raw, none, utt_prefix="x-", spk_prefix="x-")
    write_table(none / "utt2emo", {u: "bored" for u in DataDir(none).utts})
    bad = run_script([sys.executable, "-m", "serkit.bin.fold_variants", "--folds-dir", tmp_path / "folds",
                      "--train-extra", none], check=False)
    assert bad.returncode != 0 and "none of its labels ['bored']" in bad.stderr


def test_a_recipe_has_its_pretraining_model_made_from_the_other_corpora(tmp_path):
    """egs/savee's pretrain.sh (run.sh calls it before training): conf/train.yaml fine-tunes
    ../cross_corpus/exp/pretrain_savee/final.pt; missing, it is trained there from the other
    corpora's audio; without them the error says what to give; train_scratch.yaml needs nothing."""
    import os
    import subprocess
    from pathlib import Path

    import soundfile as sf

    from conftest import TINY_RECIPE_CONFIG, copy_recipe, voiced_signal
    from serkit.train.checkpoint import load_checkpoint

    egs = tmp_path / "egs"
    savee, cross = copy_recipe("savee", egs), copy_recipe("cross_corpus", egs)
    copy_recipe("emodb", egs)  # ../cross_corpus prepares each corpus with its recipe's local/prepare_data.py
    (cross / "conf" / "pretrain.yaml").write_text(TINY_RECIPE_CONFIG)
    emodb_root, savee_root = tmp_path / "emodb", tmp_path / "savee"
    (emodb_root / "wav").mkdir(parents=True)
    savee_root.mkdir()
    for k, (spk, letter) in enumerate((s, e) for s in ("03", "08", "09") for e in "WTN" for _ in range(2)):
        sf.write(emodb_root / "wav" / f"{spk}a0{k % 2 + 1}{letter}a.wav", voiced_signal(0.6, seed=k), 16000)
    for k, (spk, code) in enumerate((s, c) for s in ("DC", "JE") for c in ("a", "sa", "n")):
        sf.write(savee_root / f"{spk}_{code}01.flac", voiced_signal(0.6, seed=50 + k), 16000)
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    model = cross / "exp" / "pretrain_savee" / "final.pt"

    def pretrain(*args):
        return subprocess.run(["./pretrain.sh", "--corpus", "savee", "--nj", "1", "--savee-root", str(savee_root), *args],
                              cwd=savee, env=env, capture_output=True, text=True)

    proc = pretrain("--train-configs", "conf/train_scratch.yaml conf/train_crnn.yaml")
    assert proc.returncode == 0 and not model.exists()  # nothing fine-tunes it: nothing to do
    proc = pretrain("--train-configs", "conf/train.yaml")
    assert proc.returncode == 1 and not model.exists()
    assert "conf/train.yaml fine-tunes ../cross_corpus/exp/pretrain_savee/final.pt" in proc.stderr
    assert "--emodb-root DIR --crema-d-root DIR" in proc.stderr and "conf/train_scratch.yaml" in proc.stderr
    proc = pretrain("--train-configs", "conf/train.yaml", "--emodb-root", str(emodb_root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pretrained = load_checkpoint(model)
    assert pretrained["labels"] == ["angry", "neutral", "sad"]  # EmoDB's, on the canonical names
    assert pretrained["config"]["data"]["balance"] == "none"
    speakers = set(read_table(cross / "data" / "models" / "model1" / "train" / "utt2spk").values())
    assert speakers and all(s.startswith("emodb-") for s in speakers)  # no SAVEE speaker in it
    assert not list((cross / "data" / "pairs").glob("pair*"))  # --experiments "": the model alone
    mtime = model.stat().st_mtime
    assert pretrain("--train-configs", "conf/train.yaml").returncode == 0 and model.stat().st_mtime == mtime


@pytest.mark.skipif(__import__("serkit.baseline.opensmile_svm", fromlist=["available"]).available() is not None,
                    reason="the baseline extra (opensmile, scikit-learn) is not installed")
def test_recipe_scores_the_svm_and_its_fusion_on_every_pair(tmp_path):
    """--baseline true (the default): functionals once per corpus, an SVM on each pair's own training
    set scored on its test set and averaged with the pair model; the pooled row has no SVM."""
    import os
    import subprocess
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from conftest import TINY_RECIPE_CONFIG, copy_recipe, voiced_signal
    from serkit.score.late_fusion import read_posteriors

    egs = tmp_path / "egs"
    cross = copy_recipe("cross_corpus", egs)
    copy_recipe("emodb", egs), copy_recipe("savee", egs)  # their local/prepare_data.py
    (cross / "conf" / "tiny.yaml").write_text(TINY_RECIPE_CONFIG)
    emodb_root, savee_root = tmp_path / "emodb", tmp_path / "savee"
    (emodb_root / "wav").mkdir(parents=True)
    savee_root.mkdir()
    for k, (spk, letter) in enumerate((s, e) for s in ("03", "08", "09") for e in "WTN" for _ in range(2)):
        sf.write(emodb_root / "wav" / f"{spk}a0{k % 2 + 1}{letter}a.wav", voiced_signal(0.6, f0=100 + 40 * "WTN".index(letter), seed=k), 16000)
    for k, (spk, code) in enumerate((s, c) for s in ("DC", "JE", "JK") for c in ("a", "sa", "n") for _ in range(2)):
        sf.write(savee_root / f"{spk}_{code}0{k % 2 + 1}.flac", voiced_signal(0.6, f0=100 + 40 * ("a", "sa", "n").index(code), seed=50 + k), 16000)
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run(["./run.sh", "--emodb-root", str(emodb_root), "--savee-root", str(savee_root), "--nj", "2",
                           "--experiments", "emodb:savee savee:savee", "--pooled", "true", "--train-config", "conf/tiny.yaml"],
                          cwd=cross, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for corpus, n in (("emodb", 18), ("savee", 18)):  # extracted once per corpus, for every pair
        assert len(read_table(cross / "exp" / "functionals" / corpus / "ComParE_2016.scp")) == n
    for k in (1, 2):
        exp, test = cross / "exp" / f"pair{k}", cross / "data" / "pairs" / f"pair{k}" / "test"
        crnn, svm = read_posteriors(exp / "decode_test"), read_posteriors(exp / "svm" / "fold1" / "decode_test")
        fused = read_posteriors(exp / "fused" / "decode_test")
        assert fused.utts == crnn.utts == sorted(read_table(test / "utt2emo"))
        expected = 0.5 * crnn.probs + 0.5 * svm.reordered(crnn.labels).subset(crnn.utts).probs
        np.testing.assert_allclose(fused.reordered(crnn.labels).probs, expected, atol=1e-5)
        assert json.loads((exp / "svm" / "scores" / "scores.json").read_text())["ua"] >= 0
    assert not (cross / "exp" / "pair3" / "svm").exists()  # pooled:emodb
    results = (cross / "RESULTS.md").read_text()
    svm_table = results.split("openSMILE ComParE_2016 + SVM, trained")[1].split("The pair model and the SVM")[0]
    assert "| emodb |" in svm_table and "| savee |" in svm_table and "| pooled |" not in svm_table
    ua = json.loads((cross / "exp" / "cross_corpus.json").read_text())
    svm_ua = json.loads((cross / "exp" / "pair1" / "svm" / "scores" / "scores.json").read_text())["ua"]
    assert ua["ua_svm"]["emodb"]["savee"] == round(100 * svm_ua, 1) and "pooled" in ua["ua"]
