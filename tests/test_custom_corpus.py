"""Own corpora (serkit.data.custom_corpus, egs/custom): label folders and manifests, with the
mess of real folders: mixed label spellings, stray and non-audio files, nested folders, a
misspelt label, bad manifest lines."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY_RECIPE_CONFIG, copy_recipe, run_script, write_audio
from serkit.data import custom_corpus as cc
from serkit.data.corpus import PrepReport
from serkit.data.table import read_table
from serkit.errors import DataDirError

PREPARE = REPO / "egs" / "custom" / "local" / "prepare_data.py"


def make_folder_tree(root: Path, speakers=("spk1", "spk2", "spk3")) -> Path:
    for spk in speakers:
        write_audio(root / "Angry" / f"{spk}_a1.wav", 16000)
        write_audio(root / "sadness" / f"{spk}_s1.flac", 44100, channels=2)
        write_audio(root / "Pleasant surprise" / f"{spk}_p1.wav", 22050)
        write_audio(root / "NEUTRAL" / "session2" / f"{spk}_n1.wav", 16000)  # nested
    write_audio(root / "angyr" / "spk1_typo.wav", 16000)  # a misspelt label: reported, not guessed
    write_audio(root / "loose.wav", 16000)  # not in a label folder
    (root / "Angry" / "notes.txt").write_text("recorded in the lab\n")
    (root / "sadness" / "broken.wav").write_text("not audio at all\n")
    return root


def test_label_folders_map_spellings_and_list_what_is_not_used(tmp_path, caplog):
    root = make_folder_tree(tmp_path / "mine")
    data = tmp_path / "data"
    with caplog.at_level(logging.INFO):
        proc = run_script([sys.executable, PREPARE, "--speaker-regex", r"/(spk\d)_", root, data])
    assert "12 utterances, 3 speakers" in proc.stdout and "4 files not used" in proc.stdout
    emo, spk = read_table(data / "utt2emo"), read_table(data / "utt2spk")
    assert sorted(set(emo.values())) == ["angry", "neutral", "sad", "surprise"]
    assert spk["spk2-NEUTRAL-session2-spk2_n1"] == "spk2" and emo["spk2-NEUTRAL-session2-spk2_n1"] == "neutral"
    assert emo["spk1-Pleasant_surprise-spk1_p1"] == "surprise"
    rejected = (data / "rejected.txt").read_text()
    assert "angyr/spk1_typo.wav: label 'angyr' is not a known emotion; map it with --label-map" in rejected
    assert "loose.wav: not in a label folder" in rejected
    assert "notes.txt: not audio" in rejected and "broken.wav: not readable audio" in rejected
    assert "label 'angyr' (1 files) maps to no canonical label" in proc.stderr
    assert not (data / cc.NO_SPEAKERS).exists()
    # a mapping file takes the typo in
    (tmp_path / "map.txt").write_text("angyr angry\n")
    run_script([sys.executable, PREPARE, "--speaker-regex", r"/(spk\d)_", "--label-map", tmp_path / "map.txt", root, data])
    assert read_table(data / "utt2emo")["spk1-angyr-spk1_typo"] == "angry"
    (tmp_path / "bad_map.txt").write_text("angyr angry\nmeh furious\n")
    bad = run_script([sys.executable, PREPARE, "--label-map", tmp_path / "bad_map.txt", root, data], check=False)
    assert bad.returncode == 1 and "bad_map.txt:2: 'furious' is not a canonical label" in bad.stderr


def test_without_speakers_every_utterance_is_its_own_and_it_is_said(tmp_path):
    root = make_folder_tree(tmp_path / "mine")
    proc = run_script([sys.executable, PREPARE, root, tmp_path / "data"])
    assert "12 utterances, 12 speakers" in proc.stdout
    assert "NO SPEAKER INFORMATION" in proc.stderr and "speaker-DEPENDENT" in proc.stderr
    assert (tmp_path / "data" / cc.NO_SPEAKERS).is_file()
    bad = run_script([sys.executable, PREPARE, "--speaker-regex", "no group", root, tmp_path / "d2"], check=False)
    assert bad.returncode == 1 and "has no group" in bad.stderr


def _manifest(tmp_path: Path, text: str, name="list.csv") -> Path:
    for spk in ("A", "B", "C"):
        write_audio(tmp_path / "audio" / f"{spk}1.wav", 16000)
        write_audio(tmp_path / "audio" / f"{spk}2.ogg", 48000)
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_manifests_csv_and_tsv_with_optional_columns(tmp_path):
    rows = "".join(f"audio/{s}1.wav,Anger,{s},Female,hello there\naudio/{s}2.ogg,hap,{s},M,\n" for s in "ABC")
    csv = _manifest(tmp_path, "File Name,Emotion,Speaker ID,Sex,Transcript\n" + rows)
    run_script([sys.executable, PREPARE, "--manifest", csv, "unused", tmp_path / "data"])
    data = tmp_path / "data"
    assert sorted(set(read_table(data / "utt2spk").values())) == ["A", "B", "C"]
    assert read_table(data / "utt2emo")["A-audio-A1"] == "angry" and read_table(data / "utt2emo")["B-audio-B2"] == "happy"
    assert read_table(data / "utt2gender")["C-audio-C1"] == "f" and read_table(data / "utt2gender")["C-audio-C2"] == "m"
    assert read_table(data / "text", value_required=False)["A-audio-A1"] == "hello there"
    tsv = _manifest(tmp_path, "path\tlabel\n" + "".join(f"audio/{s}1.wav\tsad\n" for s in "ABC"), "list.tsv")
    run_script([sys.executable, PREPARE, "--manifest", tsv, "unused", tmp_path / "data2"])
    assert (tmp_path / "data2" / cc.NO_SPEAKERS).is_file()  # no speaker column, no regex


@pytest.mark.parametrize("text, error", [
    ("path,speaker\naudio/A1.wav,A\n", r"list.csv:1: the header has no label column"),
    ("wav,emotion\naudio/A1.wav,angry\naudio/missing.wav,sad\n", r"list.csv:3: audio file 'audio/missing.wav' not found"),
    ("path,label,speaker\naudio/A1.wav,angry\n", r"list.csv:2: 2 fields, the header has 3"),
    ("", r"list.csv: empty"),
])
def test_bad_manifests_name_the_line(tmp_path, text, error):
    with pytest.raises(DataDirError, match=error):
        cc.from_manifest(_manifest(tmp_path, text), cc.label_spellings(), cc.SpeakerRule(None), PrepReport())


def test_folds_follow_the_number_of_speakers():
    assert cc.choose_folds(3, True) == ("loso", 1, 0)  # no dev speakers, as the corpus recipes
    assert cc.choose_folds(12, True) == ("loso", 1, 0)
    assert cc.choose_folds(20, True) == ("leave-n-out", 4, 0)
    assert cc.choose_folds(91, True) == ("leave-n-out", 19, 0)
    assert cc.choose_folds(100, False) == ("file", 20, 0)  # utterances as speakers, in random groups
    text = cc.random_fold_file([f"u{i:02d}" for i in range(12)])
    groups = [line.split()[1].split(",") for line in text.splitlines() if line.startswith("fold")]
    assert [len(g) for g in groups] == [3, 3, 3, 3] and sorted(sum(groups, [])) == [f"u{i:02d}" for i in range(12)]
    assert groups[0] != ["u00", "u01", "u02"]  # shuffled, not in sorted order
    with pytest.raises(DataDirError, match="2 speaker"):
        cc.choose_folds(2, True)


@pytest.mark.timeout(300)
def test_the_recipe_runs_and_says_when_it_is_speaker_dependent(tmp_path):
    root = tmp_path / "mine"
    for k in range(6):  # 6 recordings per label, no speaker information anywhere
        for label in ("Angry", "sad", "neutral"):
            write_audio(root / label / f"take{k}.wav", 16000)
    recipe = copy_recipe("custom", tmp_path / "egs")
    (recipe / "conf" / "tiny.yaml").write_text(TINY_RECIPE_CONFIG)  # no dev speakers: the fixed schedule
    env = dict(os.environ, SERKIT_ROOT=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run(["./run.sh", "--corpus-root", str(root), "--nj", "1", "--train-configs", "conf/tiny.yaml",
                           "--", "--baseline", "false"], cwd=recipe, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "speaker-DEPENDENT" in proc.stderr
    assert len(list((recipe / "exp" / "tiny").glob("fold*/final.pt"))) == 5  # 18 utterances: 5 random folds
    assert not list((recipe / "data" / "folds").glob("fold*/dev"))  # every other utterance trains
    assert "SPEAKER-DEPENDENT (no speaker information: the results are optimistic)" in (recipe / "RESULTS.md").read_text()
