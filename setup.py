"""serkit: Kaldi-style recipes for speech emotion recognition."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def _version() -> str:
    for line in (HERE / "serkit" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip('"')
    raise RuntimeError("serkit/__init__.py has no __version__")


# Ranges a library user can live with; tools/requirements.lock holds the exact, tested versions
# that tools/install.sh (the README, CI) installs. torchaudio 2.11.1 is built against torch's
# stable C ABI and needs a symbol (torch_exception_get_what_without_backtrace) that torch only
# exports from 2.13 on: 2.11.0 and 2.12.1 fail to load it. torch 2.15 does not resolve beside it.
RUNTIME = [
    "torch>=2.13,<2.15",
    "torchaudio>=2.11.1,<2.12",
    "soxr>=0.3",  # resampling for any pair of rates (libsoxr)
    "kaldiio>=2.18",
    "sentencepiece>=0.2",
    "numpy>=1.24",
    "scipy>=1.10",
    "pyyaml>=6.0",
    "tensorboard>=2.14",
    "soundfile>=0.12",
    "tqdm>=4.65",
    "matplotlib>=3.7",  # confusion-matrix images (PNG, TensorBoard)
]

EXTRAS = {
    # independent reference implementations the tests compare serkit against
    "test": ["pytest>=7", "pytest-timeout>=2", "kaldi-native-fbank>=1.20", "kaldi-native-io>=1.20"],
    # export and deployment: ONNX graphs, onnxruntime inference and INT8 quantization
    "deploy": ["onnx==1.23.*", "onnxruntime==1.32.*"],
    # the classical baseline stage: openSMILE functionals + an SVM
    "baseline": ["opensmile>=2.5", "scikit-learn>=1.3"],
    # serkit-serve: the streaming server and its page (the browser test drives Chromium with selenium)
    "serve": ["aiohttp>=3.9", "selenium>=4.10"],
}

setup(
    name="serkit",
    version=_version(),
    description="Kaldi-style recipe toolkit for speech emotion recognition",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["serkit", "serkit.*"]),
    package_data={"serkit.serve": ["static/*"]},
    install_requires=RUNTIME,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "serkit-infer = serkit.bin.infer:entry",
            "serkit-stream = serkit.bin.stream:entry",
            "serkit-serve = serkit.bin.serve:entry",
        ],
    },
)
