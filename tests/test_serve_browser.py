"""The page of serkit-serve in headless Chromium: a wav file played as the microphone streams to
the server and the timeline fills with estimates; a file chosen on the page gets its timeline too.

Skips, saying why, without Debian's chromium and chromium-driver (``.ci/run`` installs them as
root) or without selenium (serkit[serve]). Set SERKIT_SCREENSHOT=path to keep the screenshot."""
from __future__ import annotations

import os
import shutil
import time

import pytest
import soundfile as sf
import torch

from conftest import LABELS, RunningServer, make_checkpoint, voiced_signal

pytest.importorskip("aiohttp", reason="serkit-serve needs aiohttp (tools/install.sh --extras serve)")
webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (serkit[serve])")
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Chromium is not installed (as root: apt-get "
                                "install chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from serkit.bin import export
    root = tmp_path_factory.mktemp("browser_model")
    torch.save(make_checkpoint(), root / "final.pt")
    assert export.main(["--model", str(root / "final.pt"), "--out-dir", str(root / "export"), "--int8",
                        "--no-torchscript", "--latency-repeats", "0"]) == 0
    running = RunningServer(root / "export" / "model_int8.onnx", window=1.0, hop=0.5)
    yield running
    running.stop()


def _browser(tmp_path, microphone):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,800"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)


def _estimates(driver) -> int:
    return int(driver.find_element("id", "timeline").get_attribute("data-estimates"))


def _wait(driver, condition, seconds=40.0):
    end = time.time() + seconds
    while time.time() < end:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.timeout(180)
def test_the_page_streams_the_microphone_and_draws_the_timeline(server, tmp_path):
    mic = tmp_path / "mic.wav"
    sf.write(mic, voiced_signal(6.0, 16000, seed=11), 16000, subtype="PCM_16")
    driver = _browser(tmp_path, mic)
    try:
        driver.get(server.url + "/")
        assert _wait(driver, lambda: "·" in driver.find_element("id", "model").text), "the page did not load the model"
        driver.find_element("id", "record").click()
        assert _wait(driver, lambda: _estimates(driver) >= 4), \
            f"no estimates from the microphone: {driver.find_element('id', 'status').text}"
        assert driver.find_element("id", "label").text.lower() in LABELS + ["(silence)"]
        assert "listening" in driver.find_element("id", "status").text
        shot = os.environ.get("SERKIT_SCREENSHOT") or str(tmp_path / "page.png")
        assert driver.save_screenshot(shot) and os.path.getsize(shot) > 10_000
        driver.find_element("id", "stop").click()
        assert _wait(driver, lambda: "estimates" in driver.find_element("id", "status").text)  # the final message
        # a file chosen on the page: the same timeline, from POST /recognize
        upload = tmp_path / "call.wav"
        sf.write(upload, voiced_signal(3.0, 22050, seed=5), 22050, subtype="PCM_16")
        driver.find_element("id", "file").send_keys(str(upload))
        assert _wait(driver, lambda: "call.wav: 5 segments" in driver.find_element("id", "status").text)
        assert _estimates(driver) == 5
    finally:
        driver.quit()
