"""Kaldi key tables: strict parsing with file:line errors, atomic sorted writing."""
import pytest

from serkit.data.table import first_unsorted, invert_multimap, read_table, write_table, expand_multimap
from serkit.errors import TableError


def _write(tmp_path, data: bytes):
    p = tmp_path / "utt2spk"
    p.write_bytes(data)
    return p


def test_round_trip_sorted_in_c_order(tmp_path):
    p = tmp_path / "t"
    write_table(p, {"b": "2", "B": "1", "a_x": "3", "a": "4"})
    assert p.read_text() == "B 1\na 4\na_x 3\nb 2\n"  # C order: upper case before lower case
    table = read_table(p)
    assert list(table) == ["B", "a", "a_x", "b"]
    assert table.where("a_x") == f"{p}:3"


def test_tabs_and_multiple_spaces_separate_key_from_value(tmp_path):
    table = read_table(_write(tmp_path, b"u1\tspk1\nu2   /path with space.wav\n"))
    assert table["u1"] == "spk1"
    assert table["u2"] == "/path with space.wav"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"u1 s1\nu2 \xe9t\xe9\n", r"utt2spk:2: not valid UTF-8 \(byte 0xe9 at column 4\).*iconv"),
        (b"u1 s1\r\nu2 s2\r\n", r"utt2spk:1: Windows line ending.*sed"),
        (b"u1 s1\n\nu2 s2\n", r"utt2spk:2: empty line"),
        (b"u1 s1\n u2 s2\n", r"utt2spk:2: line starts with whitespace"),
        (b"u1 s1\nu2\n", r"utt2spk:2: key 'u2' has no value"),
        (b"u1 s1\nu2 s2\nu1 s3\n", r"utt2spk:3: duplicate key 'u1' \(first at line 1\)"),
    ],
)
def test_malformed_tables_name_file_and_line(tmp_path, content, expected):
    with pytest.raises(TableError, match=expected):
        read_table(_write(tmp_path, content))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TableError, match="no such file"):
        read_table(tmp_path / "absent")


def test_last_line_without_newline_is_read(tmp_path):
    assert read_table(_write(tmp_path, b"u1 s1\nu2 s2"))["u2"] == "s2"


def test_empty_value_allowed_only_when_asked(tmp_path):
    p = _write(tmp_path, b"u1 hello\nu2\n")
    assert read_table(p, value_required=False)["u2"] == ""


def test_unsorted_detection():
    assert first_unsorted(["a", "b", "c"]) is None
    assert first_unsorted(["a", "c", "b"]) == ("c", "b")


def test_spk2utt_inversion_round_trip():
    utt2spk = {"s2-u1": "s2", "s1-u2": "s1", "s1-u1": "s1"}
    spk2utt = invert_multimap(utt2spk)
    assert spk2utt == {"s1": "s1-u1 s1-u2", "s2": "s2-u1"}
    assert expand_multimap(spk2utt) == utt2spk


def test_write_refuses_keys_with_whitespace(tmp_path):
    with pytest.raises(TableError, match="no whitespace"):
        write_table(tmp_path / "t", {"bad key": "v"})
