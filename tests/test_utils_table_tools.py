"""Tests for split_scp.pl, filter_scp.pl, utt2spk_to_spk2utt.pl, spk2utt_to_utt2spk.pl."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UTILS = ROOT / "utils"

# 10 utterances of 4 speakers; s3's utterances are not contiguous in wav.scp.
UTT2SPK = [("u01", "s1"), ("u02", "s1"), ("u03", "s2"), ("u04", "s3"), ("u05", "s3"),
           ("u06", "s3"), ("u07", "s4"), ("u08", "s4"), ("u09", "s3"), ("u10", "s4")]


def run(tool, *args, cwd, stdin=None):
    return subprocess.run([str(UTILS / tool), *map(str, args)], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def data(tmp_path):
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in UTT2SPK))
    (tmp_path / "wav.scp").write_text("".join(f"{u} /corpus/{u}.wav\n" for u, _ in UTT2SPK))
    return tmp_path


def read_lines(path):
    return path.read_text().splitlines()


# ------------------------------------------------------------ split_scp.pl

def test_split_scp_even_split_preserves_order(data):
    r = run("split_scp.pl", "wav.scp", "a", "b", "c", cwd=data)
    assert r.returncode == 0, r.stderr
    parts = [read_lines(data / n) for n in "abc"]
    assert [len(p) for p in parts] == [4, 3, 3]
    assert sum(parts, []) == read_lines(data / "wav.scp")


def test_split_scp_exact_division(data):
    r = run("split_scp.pl", "wav.scp", "a", "b", cwd=data)
    assert r.returncode == 0, r.stderr
    assert read_lines(data / "a") == read_lines(data / "wav.scp")[:5]
    assert read_lines(data / "b") == read_lines(data / "wav.scp")[5:]


def test_split_scp_utt2spk_keeps_speakers_together(data):
    r = run("split_scp.pl", "--utt2spk=utt2spk", "wav.scp", "a", "b", "c", cwd=data)
    assert r.returncode == 0, r.stderr
    spk = dict(UTT2SPK)
    parts = [read_lines(data / n) for n in "abc"]
    owner = {}
    for k, part in enumerate(parts):
        assert part, f"output {k} is empty"
        for line in part:
            owner.setdefault(spk[line.split()[0]], set()).add(k)
    assert all(len(ks) == 1 for ks in owner.values()), owner
    assert sorted(sum(parts, [])) == sorted(read_lines(data / "wav.scp"))
    # Speakers in order of first appearance, a speaker's lines in input order:
    # s1 s2 | s3 (u04 u05 u06 u09) | s4 (u07 u08 u10).
    assert [line.split()[0] for line in parts[1]] == ["u04", "u05", "u06", "u09"]
    assert [line.split()[0] for line in parts[2]] == ["u07", "u08", "u10"]
    assert [len(p) for p in parts] == [3, 4, 3]


def test_split_scp_utt2spk_balances_unequal_speakers(tmp_path):
    sizes = [1, 1, 1, 1, 8, 2, 2]
    utts = [(f"s{k}_u{i}", f"s{k}") for k, n in enumerate(sizes) for i in range(n)]
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utts))
    r = run("split_scp.pl", "--utt2spk=utt2spk", "utt2spk", "a", "b", "c", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [len(read_lines(tmp_path / n)) for n in "abc"] == [4, 8, 4]


def test_split_scp_too_many_outputs(data):
    outs = [f"o{i}" for i in range(11)]
    r = run("split_scp.pl", "wav.scp", *outs, cwd=data)
    assert r.returncode == 1
    assert "wav.scp" in r.stderr and "10" in r.stderr and "11" in r.stderr


def test_split_scp_more_outputs_than_speakers(data):
    r = run("split_scp.pl", "--utt2spk=utt2spk", "wav.scp", "a", "b", "c", "d", "e", cwd=data)
    assert r.returncode == 1
    assert "speaker" in r.stderr and "4" in r.stderr


def test_split_scp_utterance_missing_from_utt2spk(data):
    (data / "wav.scp").write_text((data / "wav.scp").read_text() + "u99 /x.wav\n")
    r = run("split_scp.pl", "--utt2spk=utt2spk", "wav.scp", "a", "b", cwd=data)
    assert r.returncode == 1
    assert "wav.scp:11" in r.stderr and "u99" in r.stderr


def test_split_scp_single_job_to_stdout(data):
    r = run("split_scp.pl", "-j", "3", "1", "wav.scp", cwd=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == read_lines(data / "wav.scp")[4:7]
    r1 = run("split_scp.pl", "-j", "3", "2", "--one-based", "wav.scp", cwd=data)
    assert r1.stdout == r.stdout


# ----------------------------------------------------------- filter_scp.pl

def test_filter_scp_include_keeps_input_order(data):
    (data / "ids").write_text("u07 extra fields\nu02\nu99\n")
    r = run("filter_scp.pl", "ids", "wav.scp", cwd=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "u02 /corpus/u02.wav\nu07 /corpus/u07.wav\n"


def test_filter_scp_exclude_from_stdin(data):
    (data / "ids").write_text("u01\nu03\nu04\nu05\nu06\nu07\nu08\nu09\n")
    r = run("filter_scp.pl", "--exclude", "ids", "-", cwd=data,
            stdin=(data / "wav.scp").read_text())
    assert r.returncode == 0, r.stderr
    assert r.stdout == "u02 /corpus/u02.wav\nu10 /corpus/u10.wav\n"


def test_filter_scp_field_option(data):
    (data / "spk_list").write_text("s2\ns4\n")
    r = run("filter_scp.pl", "-f", "2", "spk_list", "utt2spk", cwd=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "u03 s2\nu07 s4\nu08 s4\nu10 s4\n"
    r = run("filter_scp.pl", "--exclude", "-f", "2", "spk_list", "utt2spk", cwd=data)
    assert [line.split()[1] for line in r.stdout.splitlines()] == ["s1", "s1", "s3", "s3", "s3", "s3"]


def test_filter_scp_errors_name_file_and_line(data):
    (data / "ids").write_text("u01\n")
    r = run("filter_scp.pl", "-f", "3", "ids", "utt2spk", cwd=data)
    assert r.returncode == 1
    assert "utt2spk:1" in r.stderr
    r = run("filter_scp.pl", "ids", "missing.scp", cwd=data)
    assert r.returncode == 1 and "missing.scp" in r.stderr


# ------------------------------------------------- utt2spk <-> spk2utt

def test_utt2spk_to_spk2utt_order(data):
    r = run("utt2spk_to_spk2utt.pl", "utt2spk", cwd=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("s1 u01 u02\n"
                        "s2 u03\n"
                        "s3 u04 u05 u06 u09\n"
                        "s4 u07 u08 u10\n")


def test_spk2utt_utt2spk_round_trip_via_stdin(data):
    spk2utt = run("utt2spk_to_spk2utt.pl", cwd=data, stdin=(data / "utt2spk").read_text())
    assert spk2utt.returncode == 0, spk2utt.stderr
    back = run("spk2utt_to_utt2spk.pl", cwd=data, stdin=spk2utt.stdout)
    assert back.returncode == 0, back.stderr
    assert sorted(back.stdout.splitlines()) == read_lines(data / "utt2spk")
    # spk2utt -> utt2spk -> spk2utt is the identity.
    (data / "spk2utt").write_text(spk2utt.stdout)
    (data / "utt2spk.2").write_text(run("spk2utt_to_utt2spk.pl", "spk2utt", cwd=data).stdout)
    again = run("utt2spk_to_spk2utt.pl", "utt2spk.2", cwd=data)
    assert again.stdout == spk2utt.stdout


def test_bad_lines_are_reported_with_file_and_line(data):
    (data / "bad_utt2spk").write_text("u1 s1\nu2\n")
    r = run("utt2spk_to_spk2utt.pl", "bad_utt2spk", cwd=data)
    assert r.returncode == 1 and "bad_utt2spk:2" in r.stderr
    (data / "bad_spk2utt").write_text("s1 u1\ns2\n")
    r = run("spk2utt_to_utt2spk.pl", "bad_spk2utt", cwd=data)
    assert r.returncode == 1 and "bad_spk2utt:2" in r.stderr
