"""Cross-corpus label mapping and experiment data sets."""
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
