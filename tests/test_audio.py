"""Audio reading for wav.scp entries: files, pipes, segments, downmix, resampling, bad input."""
import numpy as np
import pytest
import soundfile as sf

from conftest import voiced_signal
from serkit.data.audio import AudioLoader, Segment, load_audio
from serkit.errors import AudioError


def _dominant_freq(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * rate / len(x)


def test_wav_and_flac_read_identically(tmp_path):
    sig = voiced_signal(0.5)
    pcm = np.round(sig * 32767).astype(np.int16)  # identical integers in both containers
    sf.write(tmp_path / "a.wav", pcm, 16000, subtype="PCM_16")
    sf.write(tmp_path / "a.flac", pcm, 16000, subtype="PCM_16")
    a = load_audio(str(tmp_path / "a.wav"))
    b = load_audio(str(tmp_path / "a.flac"))
    assert a.dtype == np.float32 and a.shape == (8000,)
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a - sig)) < 1 / 32768 + 1e-6  # 16-bit quantisation only


def test_pipe_entry_runs_the_command(tmp_path):
    sig = voiced_signal(0.3)
    sf.write(tmp_path / "a.wav", sig, 16000, subtype="PCM_16")
    piped = load_audio(f"cat {tmp_path / 'a.wav'} |")
    np.testing.assert_array_equal(piped, load_audio(str(tmp_path / "a.wav")))


def test_stereo_is_mixed_down(tmp_path):
    left = np.full(1600, 0.5, dtype=np.float32)
    right = np.full(1600, -0.25, dtype=np.float32)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(str(tmp_path / "st.wav")), 0.125, atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_other_rates_are_resampled_keeping_pitch(tmp_path, rate):
    t = np.arange(rate) / rate
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate, subtype="PCM_16")
    out = load_audio(str(tmp_path / "tone.wav"), sample_rate=16000)
    assert abs(len(out) - 16000) <= 1
    assert abs(_dominant_freq(out, 16000) - 440) < 2


def test_segments_slice_recordings(tmp_path):
    sig = np.arange(32000, dtype=np.float32) / 40000
    sf.write(tmp_path / "rec.wav", sig, 16000, subtype="FLOAT")
    loader = AudioLoader(
        {"rec": str(tmp_path / "rec.wav")},
        {"rec-a": Segment("rec", 0.5, 1.0), "rec-b": Segment("rec", 1.5, -1)},
    )
    a = loader.load("rec-a")
    assert len(a) == 8000 and a[0] == pytest.approx(8000 / 40000)
    assert len(loader.load("rec-b")) == 8000
    with pytest.raises(AudioError, match="recording 'rec' is 2.00 s long"):
        AudioLoader({"rec": str(tmp_path / "rec.wav")}, {"x": Segment("rec", 3.0, 4.0)}).load("x")


def test_missing_file_names_entry(tmp_path):
    with pytest.raises(AudioError, match="does not exist; fix the path in wav.scp"):
        load_audio(str(tmp_path / "nope.wav"), what="data/wav.scp: 'u1'")


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="produced no bytes"):
        load_audio(str(tmp_path / "empty.wav"))


def test_zero_length_wav(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="zero samples"):
        load_audio(str(tmp_path / "zero.wav"))


def test_corrupt_header(tmp_path):
    sf.write(tmp_path / "ok.wav", voiced_signal(0.2), 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "ok.wav").read_bytes())
    data[8:12] = b"XXXX"  # 'WAVE' tag destroyed
    (tmp_path / "bad.wav").write_bytes(bytes(data))
    with pytest.raises(AudioError, match="not readable audio"):
        load_audio(str(tmp_path / "bad.wav"))


def test_text_file_is_not_audio(tmp_path):
    (tmp_path / "notes.wav").write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match="not readable audio"):
        load_audio(str(tmp_path / "notes.wav"))


def test_failing_pipe_reports_status_and_stderr():
    with pytest.raises(AudioError, match="exited with status 3: boom"):
        load_audio("echo boom >&2; exit 3 |", what="u1")


def _pcm_wav(path, samples):
    sf.write(path, samples, 16000, subtype="PCM_16")
    return bytearray(path.read_bytes())


def test_truncated_wav_is_an_error_naming_both_lengths(tmp_path):
    data = _pcm_wav(tmp_path / "full.wav", voiced_signal(32049 / 16000))
    (tmp_path / "cut.wav").write_bytes(bytes(data[:44 + 16024 * 2]))  # the header still says 32049
    with pytest.raises(AudioError, match="truncated: the header declares 32049 samples but the file holds 16024"):
        load_audio(str(tmp_path / "cut.wav"), what="data/wav.scp:3 'u3'")
    with pytest.raises(AudioError, match="truncated"):  # the same through a pipe
        load_audio(f"cat {tmp_path / 'cut.wav'} |")


def test_streamed_wav_with_a_placeholder_size_reads_whole(tmp_path):
    """Writers that do not know the length in advance (sox or ffmpeg to a pipe) put 0xFFFFFFFF in
    the size fields: that is not a truncation."""
    data = _pcm_wav(tmp_path / "full.wav", voiced_signal(0.5))
    data[4:8] = data[40:44] = b"\xff\xff\xff\xff"
    (tmp_path / "streamed.wav").write_bytes(bytes(data))
    assert len(load_audio(str(tmp_path / "streamed.wav"))) == 8000


def test_truncated_flac_is_an_error(tmp_path):
    sf.write(tmp_path / "a.flac", voiced_signal(2.0), 16000, subtype="PCM_16")
    data = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="not readable audio|truncated"):
        load_audio(str(tmp_path / "cut.flac"))


def test_streaming_a_truncated_file_ends_in_an_error(tmp_path):
    from serkit.infer.audio_stream import file_blocks

    data = _pcm_wav(tmp_path / "full.wav", voiced_signal(1.0))
    (tmp_path / "cut.wav").write_bytes(bytes(data[:44 + 4000 * 2]))
    rate, blocks = file_blocks(str(tmp_path / "cut.wav"))
    with pytest.raises(AudioError, match="truncated"):
        for _ in blocks:
            pass
