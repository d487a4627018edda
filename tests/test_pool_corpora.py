"""serkit.bin.pool_corpora: corpora pooled on the canonical labels, ids prefixed, dev and held-out speakers."""
import sys

import pytest
import yaml

from conftest import make_feature_dir, run_script
from serkit.data.datadir import DataDir
from serkit.data.table import read_table
from serkit.data.validate import validate_data_dir


@pytest.fixture
def corpora(tmp_path):
    data = tmp_path / "data"
    make_feature_dir(data, "big", speakers=("1001", "1002", "1003", "1004"), utts_per_spk=6,
                     labels=("ANG", "NEU", "SAD"), seed=1)
    make_feature_dir(data, "small", speakers=("DC", "JE", "KL"), utts_per_spk=4, labels=("a", "su"), seed=2)
    labels = tmp_path / "labels.yaml"
    labels.write_text(yaml.safe_dump({
        "canonical": ["angry", "neutral", "sad", "surprise"],
        "corpora": {"big": {"ANG": "angry", "NEU": "neutral", "SAD": None},
                    "small": {"a": "angry", "su": "surprise"}},
    }))
    return data, labels


def test_pooled_sets_on_canonical_labels_with_prefixed_ids(tmp_path, corpora):
    data, labels = corpora
    out = tmp_path / "pool"
    proc = run_script([sys.executable, "-m", "serkit.bin.pool_corpora", "--labels", labels, "--corpora", "big small",
                       "--data-root", data, "--dev-speakers", 1, "--hold-out", "big:1001 small:DC", "--out", out])
    assert "big+small on 3 labels (angry neutral surprise)" in proc.stdout
    train, dev = DataDir(out / "train"), DataDir(out / "dev")
    assert sorted(set(train.table("utt2spk").values())) == ["big-1002", "big-1003", "small-JE"]
    assert sorted(set(dev.table("utt2spk").values())) == ["big-1004", "small-KL"]
    assert set(train.table("utt2emo").values()) == {"angry", "neutral", "surprise"}  # SAD maps to null: left out
    assert all(u.startswith(("big-", "small-")) for u in train.utts)
    assert (out / "labels.txt").read_text().split() == ["angry", "neutral", "surprise"]
    assert (out / "corpora.txt").read_text() == "big angry neutral\nsmall angry surprise\n"
    held = DataDir(out / "heldout" / "big")
    assert set(held.table("utt2spk").values()) == {"big-1001"}
    for d in (out / "train", out / "dev", out / "heldout" / "big", out / "heldout" / "small"):
        assert validate_data_dir(d).ok, validate_data_dir(d).errors
    assert set(read_table(out / "train" / "cmvn.scp")) == {"big-1002", "big-1003", "small-JE"}
    for name in ("train", "dev"):  # which corpus each utterance is from, for corpus-balanced sampling
        corpus = read_table(out / name / "utt2corpus")
        assert set(corpus) == set(DataDir(out / name).utts) and all(u.startswith(c + "-") for u, c in corpus.items())
    from serkit.loader.examples import load_examples

    examples = load_examples(out / "train", ["angry", "neutral", "surprise"], show_progress=False)
    assert {ex.corpus for ex in examples} == {"big", "small"}


def test_bad_hold_out_names_the_problem(tmp_path, corpora):
    data, labels = corpora
    base = [sys.executable, "-m", "serkit.bin.pool_corpora", "--labels", labels, "--corpora", "big small",
            "--data-root", data, "--out", tmp_path / "pool"]
    proc = run_script(base + ["--hold-out", "big:9999"], check=False)
    assert proc.returncode == 1 and "big has no speakers ['9999']" in proc.stderr
    proc = run_script(base + ["--hold-out", "emodb:03"], check=False)
    assert proc.returncode == 1 and "not pooled: ['emodb']" in proc.stderr
    proc = run_script(base + ["--dev-speakers", 3], check=False)
    assert proc.returncode == 1 and "small: 3 speakers left, too few for 3 dev speakers" in proc.stderr


def test_hold_out_first_keeps_the_first_speakers_of_each_corpus(tmp_path, corpora):
    data, labels = corpora
    out = tmp_path / "pool"
    run_script([sys.executable, "-m", "serkit.bin.pool_corpora", "--labels", labels, "--corpora", "big small",
                "--data-root", data, "--dev-speakers", 1, "--hold-out-first", 1, "--out", out])
    assert set(DataDir(out / "heldout" / "big").table("utt2spk").values()) == {"big-1001"}
    assert set(DataDir(out / "heldout" / "small").table("utt2spk").values()) == {"small-DC"}


def test_training_balanced_over_corpora_needs_utt2corpus(tmp_path, corpora):
    from conftest import TINY_RECIPE_CONFIG

    data, labels = corpora
    out = tmp_path / "pool"
    run_script([sys.executable, "-m", "serkit.bin.pool_corpora", "--labels", labels, "--corpora", "big small",
                "--data-root", data, "--dev-speakers", 0, "--out", out])
    conf = tmp_path / "train.yaml"
    conf.write_text(TINY_RECIPE_CONFIG.replace("train: {max_epochs: 2", "train: {max_epochs: 1")
                    .replace("data: {batch_size: 8, max_frames: 50}", "data: {batch_size: 8, max_frames: 50, balance: corpus_class}"))
    base = [sys.executable, "-m", "serkit.bin.train", "--config", conf]
    run_script(base + ["--train-data", out / "train", "--exp-dir", tmp_path / "exp"])
    assert (tmp_path / "exp" / "final.pt").is_file()
    proc = run_script(base + ["--train-data", data / "big", "--exp-dir", tmp_path / "exp2"], check=False)
    assert proc.returncode == 1 and "has no utt2corpus" in proc.stderr and "serkit.bin.pool_corpora" in proc.stderr
