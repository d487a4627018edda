"""Data preparation of the standard SER corpora from their original release layouts.

Each test builds a small fake release with the official file names, short synthetic audio at the
corpus's own sample rate, and the mess real copies have (stray files, a FLAC behind a .wav
extension, misspelled folders, unparseable names, duplicates), runs the corpus's
``local/prepare_data.py``, and checks the tables, the rejects, the logged spelling mappings,
``utils/validate_data_dir.sh --no-feats`` and the recipe's fold file.
"""
from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest
import soundfile as sf

from conftest import (
    REPO, SHARED_CORPORA, UTILS, make_crema, make_iemocap, make_ravdess, make_savee_flat, make_tess,
    run_script, write_audio,
)
from serkit.data.labels import LabelSpellings, drop_unusable, normalise_spelling
from serkit.data.corpus import PrepReport, Utterance
from serkit.data.table import read_table
from serkit.data.folds import make_fold_dirs, read_fold_file

EGS = REPO / "egs"


# ---------------------------------------------------------------- helpers


def load_script(corpus: str):
    """``egs/<corpus>/local/prepare_data.py`` as a module (its ``main`` runs in-process)."""
    path = EGS / corpus / "local" / "prepare_data.py"
    spec = importlib.util.spec_from_file_location(f"prepare_{corpus}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(corpus: str, args: Sequence[str], capsys) -> str:
    assert load_script(corpus).main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def table(data: Path, name: str) -> Dict[str, str]:
    return dict(read_table(data / name, value_required=name != "text"))


def rejected(data: Path) -> List[str]:
    return (data / "rejected.txt").read_text().splitlines()


def rejected_names(data: Path) -> List[str]:
    return sorted(Path(line.split(": ", 1)[0]).name for line in rejected(data))


def validate(data: Path) -> None:
    out = run_script([UTILS / "validate_data_dir.sh", "--no-feats", data]).stdout
    assert "is OK" in out


def check_ids(data: Path) -> None:
    for utt, spk in table(data, "utt2spk").items():
        assert utt.startswith(spk), (utt, spk)


def check_fold_file(path: Path, data: Path, expect_folds: int, expect_dev: bool) -> None:
    speakers = sorted(set(table(data, "utt2spk").values()))
    folds = read_fold_file(path, speakers)
    assert [f.name for f in folds] == [f"fold{k}" for k in range(1, expect_folds + 1)]  # ser.sh runs foldJOB
    tested = [s for f in folds for s in f.test]
    assert sorted(tested) == speakers  # every speaker tested exactly once
    for f in folds:
        assert not set(f.test) & set(f.dev) and not set(f.test) & set(f.train) and not set(f.dev) & set(f.train)
        assert set(f.test) | set(f.dev) | set(f.train) == set(speakers)
        assert bool(f.dev) == expect_dev


def mapping_lines(caplog) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("mapped emotion spelling")]


# ---------------------------------------------------------------- the shared helpers


def test_label_map_logs_every_mapped_spelling(caplog):
    caplog.set_level(logging.INFO)
    labels = LabelSpellings(("angry", "fear", "sad"), allowed=("angry", "fear", "sad", "surprise"))
    assert labels.lookup("angry", "a") == "angry"
    assert labels.lookup("Fear", "b") == "fear" and labels.lookup("Fear", "c") == "fear"
    assert labels.lookup("pleasant_surprised", "d") == "surprise"
    assert labels.lookup("ps", "e") == "surprise"
    assert labels.lookup("fearr", "f") == "fear"  # a misspelling: guessed, logged as a warning
    assert labels.lookup("calm", "g") is None  # a label this corpus does not have
    assert labels.lookup("xyz", "h") is None
    labels.log_mappings()
    lines = {r.getMessage(): r.levelno for r in caplog.records}
    assert lines["mapped emotion spelling 'Fear' -> fear (2 files)"] == logging.INFO
    assert lines["mapped emotion spelling 'pleasant_surprised' -> surprise (1 file)"] == logging.INFO
    assert lines["mapped emotion spelling 'fearr' -> fear (close match to 'fear'; 1 file)"] == logging.WARNING
    assert not any("'angry'" in line for line in lines)
    assert normalise_spelling(" Pleasant surprise ") == "pleasant_surprise"


def test_drop_unusable_rejects_duplicates_and_empty_audio(tmp_path):
    a = write_audio(tmp_path / "a.wav", 16000)
    b = write_audio(tmp_path / "copy" / "a.wav", 16000)
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, np.float32), 16000)
    report = PrepReport()
    utts = [Utterance("s1_a", str(a), "s1", "sad"), Utterance("s1_a", str(b), "s1", "sad"),
            Utterance("s1_e", str(empty), "s1", "sad"), Utterance("s1 x", str(a), "s1", "sad")]
    kept = drop_unusable(utts, report)
    assert [u.utt for u in kept] == ["s1_a"] and kept[0].duration == pytest.approx(0.08)
    assert len(report.rejected) == 3
    assert "already used by" in report.rejected[0] and str(a) in report.rejected[0]


# ---------------------------------------------------------------- SAVEE


def test_savee_flat_layout(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, data = make_savee_flat(tmp_path / "savee"), tmp_path / "data"
    out = prepare("savee", [root, data], capsys)
    assert "18 utterances, 4 speakers" in out and "5 files not used" in out
    utt2emo = table(data, "utt2emo")
    assert len(utt2emo) == 18
    assert utt2emo["DC_a01"] == "angry" and utt2emo["KL_n30"] == "neutral" and utt2emo["JK_sa03"] == "sad"
    assert utt2emo["JE_su15"] == "surprise" and utt2emo["JE_h01"] == "happy" and utt2emo["JK_d02"] == "disgust"
    assert set(table(data, "utt2gender").values()) == {"m"}
    assert table(data, "wav.scp")["JE_h01"].endswith("JE_h01.wav")
    assert table(data, "wav.scp")["DC_a01"].endswith("savee/DC_a01.flac")
    assert not (data / "text").exists()
    assert rejected_names(data) == ["DC_a01.wav", "DC_a16.flac", "DC_x01.flac", "Thumbs.db", "XY_a01.flac"]
    assert any("already used by" in line and "backup/DC_a01.wav" in line for line in rejected(data))
    check_ids(data)
    validate(data)


def test_savee_release_layout_cli(tmp_path):
    """AudioData/<speaker>/<code><nn>.wav, through the command line as a recipe runs it."""
    root = tmp_path / "savee"
    for spk in ("DC", "JE", "JK", "KL"):
        for name in ("a01", "sa03", "su02", "n21"):
            write_audio(root / "AudioData" / spk / f"{name}.wav", 44100)
    write_audio(root / "AudioData" / "DC" / "sad04.wav", 44100)  # spelled out: mapped and logged
    write_audio(root / "AudioData" / "DC" / "take2.wav", 44100)
    (root / "AudioData" / "Info.txt").write_text("SAVEE\n")
    data = tmp_path / "data"
    proc = run_script([sys.executable, EGS / "savee" / "local" / "prepare_data.py", root, data])
    assert "17 utterances, 4 speakers" in proc.stdout and "1 files not used" in proc.stdout
    assert "mapped emotion spelling 'sad' -> sad (1 file)" in proc.stderr
    assert "SAVEE: found 17 utterances, the original release has 480" in proc.stderr
    utt2spk = table(data, "utt2spk")
    assert utt2spk["DC_sa03"] == "DC" and utt2spk["KL_n21"] == "KL" and utt2spk["DC_sa04"] == "DC"
    assert table(data, "utt2emo")["JE_su02"] == "surprise"
    assert rejected_names(data) == ["take2.wav"]
    validate(data)


def test_savee_real_corpus(tmp_path):
    root = SHARED_CORPORA / "savee"
    if not root.is_dir():
        pytest.skip(f"the SAVEE corpus is not at {root}; set SERKIT_CORPORA to run this test")
    data = tmp_path / "data"
    proc = run_script([sys.executable, EGS / "savee" / "local" / "prepare_data.py", root, data])
    assert ("480 utterances, 4 speakers (angry 60, disgust 60, fear 60, happy 60, neutral 120, sad 60, "
            "surprise 60); 0 files not used") in proc.stdout
    assert "WARNING" not in proc.stderr
    spk2utt = table(data, "spk2utt")
    assert sorted(spk2utt) == ["DC", "JE", "JK", "KL"] and all(len(v.split()) == 120 for v in spk2utt.values())
    validate(data)


# ---------------------------------------------------------------- RAVDESS


def test_ravdess_speech(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, data = make_ravdess(tmp_path / "ravdess"), tmp_path / "data"
    out = prepare("ravdess", [root, data], capsys)
    assert "74 utterances, 24 speakers" in out and "4 files not used" in out
    utt2emo, utt2spk = table(data, "utt2emo"), table(data, "utt2spk")
    assert utt2spk["Actor_12-03-01-01-01-01-01-12"] == "Actor_12"
    assert utt2emo["Actor_12-03-01-01-01-01-01-12"] == "neutral"
    assert utt2emo["Actor_12-03-01-02-02-02-01-12"] == "calm"
    assert utt2emo["Actor_12-03-01-08-02-02-02-12"] == "surprise"
    assert utt2emo["Actor_08-03-01-07-01-01-01-08"] == "disgust"
    assert utt2spk["Actor_05-03-01-05-01-01-01-05"] == "Actor_05"  # the name's actor, not the folder's
    gender = table(data, "utt2gender")
    assert gender["Actor_01-03-01-01-01-01-01-01"] == "m" and gender["Actor_24-03-01-01-01-01-01-24"] == "f"
    text = table(data, "text")
    assert text["Actor_01-03-01-01-01-01-01-01"] == "Kids are talking by the door"
    assert text["Actor_01-03-01-02-02-02-01-01"] == "Dogs are sitting by the door"
    assert not any("-03-02-" in u for u in utt2emo)  # no song by default
    assert rejected_names(data) == ["03-01-01-02-01-01-07.wav", "03-01-04-01-01-01-7.wav",
                                    "03-01-09-01-01-01-07.wav", "Thumbs.db"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("actor 05 in the name, but the file is in folder Actor_06" in m for m in messages)
    assert any("left out 1 song files" in m for m in messages)
    assert any("left out 1 video files (modality" in m for m in messages)
    assert any("left out 1 video files (.mp4" in m for m in messages)
    check_ids(data)
    validate(data)
    fold_file = EGS / "ravdess" / "conf" / "folds_6x4.txt"
    check_fold_file(fold_file, data, 6, expect_dev=True)
    folds = read_fold_file(fold_file, sorted(set(utt2spk.values())))
    assert folds[0].test == ("Actor_01", "Actor_02", "Actor_03", "Actor_04")
    assert folds[5].dev == ("Actor_01", "Actor_02", "Actor_03", "Actor_04") and len(folds[5].train) == 16
    nodev = EGS / "ravdess" / "conf" / "folds_6x4_nodev.txt"  # run.sh's
    check_fold_file(nodev, data, 6, expect_dev=False)
    assert [f.test for f in read_fold_file(nodev, sorted(set(utt2spk.values())))] == [f.test for f in folds]
    make_fold_dirs(data, folds, tmp_path / "folds")  # refuses any train/dev/test speaker overlap
    assert len(table(tmp_path / "folds" / "fold1" / "test", "utt2spk")) == 12


def test_ravdess_song_and_merged_calm(tmp_path, capsys):
    root, data = make_ravdess(tmp_path / "ravdess"), tmp_path / "data"
    out = prepare("ravdess", ["--include-song", "--merge-calm", root, data], capsys)
    assert "75 utterances, 24 speakers" in out
    utt2emo = table(data, "utt2emo")
    assert utt2emo["Actor_01-03-02-03-01-01-01-01"] == "happy"
    assert utt2emo["Actor_12-03-01-02-02-02-01-12"] == "neutral"
    assert "calm" not in utt2emo.values()
    validate(data)


# ---------------------------------------------------------------- TESS


def test_tess(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, data = make_tess(tmp_path / "tess"), tmp_path / "data"
    out = prepare("tess", [root, data], capsys)
    assert "21 utterances, 2 speakers" in out and "5 files not used" in out
    utt2emo = table(data, "utt2emo")
    assert utt2emo["OAF_back_surprise"] == "surprise" and utt2emo["YAF_dog_surprise"] == "surprise"
    assert utt2emo["OAF_dog_fear"] == "fear" and utt2emo["OAF_back_sad"] == "sad"
    assert utt2emo["OAF_back_neutral"] == "neutral" and utt2emo["YAF_bite_sad"] == "sad"
    assert sorted(set(table(data, "utt2spk").values())) == ["OAF", "YAF"]
    assert set(table(data, "utt2gender").values()) == {"f"}
    assert table(data, "text")["YAF_dog_angry"] == "say the word dog"
    assert rejected_names(data) == ["OAF_back_angry.wav", "OAF_back_bored.wav", "Thumbs.db", "YAF_bath.wav",
                                    "YAF_bath_angry.wav"]
    assert any("folder 'YAF_sad'" in line and "YAF_bath_angry" in line for line in rejected(data))
    mapped = mapping_lines(caplog)
    assert "mapped emotion spelling 'ps' -> surprise (4 files)" in mapped
    assert "mapped emotion spelling 'Pleasant_surprise' -> surprise (2 files)" in mapped
    assert "mapped emotion spelling 'pleasant_surprised' -> surprise (2 files)" in mapped
    assert "mapped emotion spelling 'Fear' -> fear (2 files)" in mapped
    assert "mapped emotion spelling 'Sad' -> sad (2 files)" in mapped
    assert "mapped emotion spelling 'neautral' -> neutral (close match to 'neutral'; 2 files)" in mapped
    assert "mapped emotion spelling 'sadd' -> sad (close match to 'sad'; 1 file)" in mapped
    check_ids(data)
    validate(data)
    check_fold_file(EGS / "tess" / "conf" / "folds_cross_speaker.txt", data, 2, expect_dev=False)


# ---------------------------------------------------------------- CREMA-D


def test_crema_d(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, data = make_crema(tmp_path / "crema"), tmp_path / "data"
    out = prepare("crema_d", [root, data], capsys)
    assert "97 utterances, 91 speakers" in out and "5 files not used" in out
    utt2emo, utt2spk = table(data, "utt2emo"), table(data, "utt2spk")
    assert utt2spk["1091_DFA_ANG_XX"] == "1091" and utt2emo["1091_DFA_ANG_XX"] == "angry"
    assert utt2emo["1003_WSI_HAP_LO"] == "happy" and utt2emo["1001_IEO_NEU_XX"] == "neutral"
    assert utt2emo["1004_TSI_FEA_MD"] == "fear" and utt2emo["1005_IWW_DIS_XX"] == "disgust"
    assert utt2emo["1040_ITH_SAD_XX"] == "sad" and "1040_ITH_SAD_X.wav: emotion level 'X' read as XX" in caplog.text
    text = table(data, "text")
    assert text["1001_IEO_NEU_XX"] == "It's eleven o'clock"
    assert text["1003_WSI_HAP_LO"] == "We'll stop in a couple of minutes"
    gender = table(data, "utt2gender")
    assert gender["1001_IEO_NEU_XX"] == "m" and gender["1089_DFA_ANG_XX"] == "f"
    assert rejected_names(data) == ["1006_IEO_SUR_XX.wav", "1007_ABC_ANG_XX.wav", "1008_DFA_ANG.wav",
                                    "1092_DFA_ANG_XX.wav", "Thumbs.db"]
    assert "mapped emotion spelling 'hap' -> happy (1 file)" in mapping_lines(caplog)
    assert not any("AudioMP3" in line for line in rejected(data))
    check_ids(data)
    validate(data)
    check_fold_file(EGS / "crema_d" / "conf" / "folds_5.txt", data, 5, expect_dev=True)
    check_fold_file(EGS / "crema_d" / "conf" / "folds_5_nodev.txt", data, 5, expect_dev=False)  # run.sh's
    folds = read_fold_file(EGS / "crema_d" / "conf" / "folds_5.txt", sorted(set(utt2spk.values())))
    assert [len(f.test) for f in folds] == [19, 18, 18, 18, 18] and folds[0].test[0] == "1001"
    nodev = read_fold_file(EGS / "crema_d" / "conf" / "folds_5_nodev.txt", sorted(set(utt2spk.values())))
    assert [f.test for f in nodev] == [f.test for f in folds]  # the same test groups


def test_crema_d_without_demographics(tmp_path, capsys):
    root, data = make_crema(tmp_path / "crema"), tmp_path / "data"
    (root / "VideoDemographics.csv").unlink()
    prepare("crema_d", [root / "AudioWAV", data], capsys)  # the AudioWAV folder itself as the root
    assert not (data / "utt2gender").exists() and len(table(data, "utt2emo")) == 97
    bad = tmp_path / "demo.csv"
    bad.write_text("ActorID,Age,Sex\n1001,30,Robot\n")
    proc = run_script([sys.executable, EGS / "crema_d" / "local" / "prepare_data.py", "--demographics", bad,
                       root, tmp_path / "data2"], check=False)
    assert proc.returncode == 1 and f"{bad}:2: Sex 'Robot'" in proc.stderr


# ---------------------------------------------------------------- IEMOCAP


def test_iemocap(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, data = make_iemocap(tmp_path / "IEMOCAP_full_release"), tmp_path / "data"
    out = prepare("iemocap", [root, data], capsys)
    assert "26 utterances, 10 speakers" in out and "4 files or labels not used" in out
    utt2spk, utt2emo = table(data, "utt2spk"), table(data, "utt2emo")
    assert utt2spk["Ses01F-Ses01F_impro01_F000"] == "Ses01F"
    assert utt2spk["Ses03M-Ses03F_impro01_M000"] == "Ses03M"
    assert utt2spk["Ses01F-Ses01M_script01_1_F000"] == "Ses01F"
    assert utt2emo["Ses02F-Ses02F_impro01_F001"] == "happy"  # exc merged into happy
    assert utt2emo["Ses02M-Ses02F_impro01_M001"] == "happy"
    assert utt2emo["Ses02M-Ses02F_impro01_M000"] == "angry" and utt2emo["Ses02F-Ses02F_impro01_F000"] == "neutral"
    assert not any(u.endswith("M002") for u in utt2emo)  # fru
    assert table(data, "utt2gender")["Ses05M-Ses05F_impro01_M000"] == "m"
    text = table(data, "text")
    assert text["Ses04F-Ses04F_impro01_F002"] == "Words of F002." and text["Ses01F-Ses01M_script01_1_F000"] == ""
    lines = rejected(data)
    assert sorted(Path(line.split(": ", 1)[0]).name for line in lines) == [
        "Ses01M_script01_1.txt:3", "Ses01M_script01_1_M000.wav", "Thumbs.db", "notes.pk"]
    assert any("Ses01M_script01_1_M002 is labelled 'ang' but has no" in line for line in lines)
    messages = [r.getMessage() for r in caplog.records]
    assert any("left out 5 utterances labelled 'fru'" in m for m in messages)
    assert any("left out 1 utterances labelled 'sur'" in m for m in messages)
    check_ids(data)
    validate(data)
    check_fold_file(EGS / "iemocap" / "conf" / "folds_sessions.txt", data, 5, expect_dev=True)
    folds = read_fold_file(EGS / "iemocap" / "conf" / "folds_sessions.txt", sorted(set(utt2spk.values())))
    assert folds[2].test == ("Ses03F", "Ses03M") and folds[4].dev == ("Ses01F", "Ses01M")
    nodev = EGS / "iemocap" / "conf" / "folds_sessions_nodev.txt"  # run.sh's
    check_fold_file(nodev, data, 5, expect_dev=False)
    assert [f.test for f in read_fold_file(nodev, sorted(set(utt2spk.values())))] == [f.test for f in folds]


def test_iemocap_without_exc(tmp_path, capsys):
    root, data = make_iemocap(tmp_path / "iemocap"), tmp_path / "data"
    out = prepare("iemocap", ["--classes", "4-noexc", root, data], capsys)
    assert "21 utterances, 10 speakers" in out
    assert not any(u.endswith("F001") for u in table(data, "utt2emo"))
