"""What a deployed model needs besides its weights, and the model card that records it.

:class:`ModelMeta` is read from a serkit checkpoint (or back from a model card / an ONNX file's
metadata): labels, the feature configuration, the CMVN the model was trained with and the
global statistics of the raw training features, the shortest input the model accepts.
:func:`build_card` turns it into ``model_card.json`` beside the exported files.
"""
from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

import serkit
from serkit.errors import ConfigError, SerkitError
from serkit.feats.cmvn import mean_std
from serkit.feats.config import FeatureConfig, load_feature_config
from serkit.utils.config import from_dict, to_dict

logger = logging.getLogger(__name__)

CARD_FORMAT = "serkit-model-card"
CARD_VERSION = 1
ONNX_METADATA_KEY = "serkit_model_card"  # metadata_props key holding the card in every .onnx
TORCHSCRIPT_CARD_FILE = "serkit_model_card.json"  # torch.jit extra file holding the card

CMVN_HOWTO = (
    "The model was trained on features normalised with each speaker's own CMVN: subtract the mean "
    "(and, with norm_vars, divide by the standard deviation) of the speaker's raw features over all of "
    "their utterances. model.onnx takes features that are already normalised. model_waveform.onnx "
    "normalises inside the graph with its inputs cmvn_mean and cmvn_std [dim]; they default to the "
    "global statistics of the raw training features below, and a caller who has enough audio of the "
    "speaker should pass that speaker's own mean and std (std all ones when norm_vars is false)."
)


@dataclass
class ModelMeta:
    labels: List[str]
    model_name: str
    model_options: Dict[str, Any]
    input_dim: int
    feats_config: Dict[str, Any]  # resolved FeatureConfig as plain values
    cmvn: bool = True  # trained on per-speaker CMVN
    norm_vars: bool = True
    global_stats: Optional[List[List[float]]] = None  # Kaldi 2 x (dim+1) stats of the raw training features
    min_frames: int = 1
    padding_invariant: bool = True  # False: batch one utterance at a time (the model ignores lengths)
    training: Dict[str, Any] = field(default_factory=dict)

    # ---- derived ---------------------------------------------------------------------------
    def feature_config(self) -> FeatureConfig:
        return from_dict(FeatureConfig, self.feats_config, section="feats_config")

    @property
    def sample_rate(self) -> int:
        return int(self.feats_config.get("sample_rate", 16000))

    @property
    def feat_type(self) -> str:
        return str(self.feats_config.get("feat_type", "logmel"))

    def frame_samples(self) -> Tuple[int, int]:
        """``(window, shift)`` of the front end in samples."""
        section = self.feats_config.get(self.feat_type, {})
        rate = self.sample_rate
        return (int(round(rate * float(section.get("frame_length", 25.0)) / 1000)),
                int(round(rate * float(section.get("frame_shift", 10.0)) / 1000)))

    def min_samples(self) -> int:
        win, hop = self.frame_samples()
        return win + (self.min_frames - 1) * hop

    @property
    def cmvn_mode(self) -> str:
        return "per-speaker" if self.cmvn else "none"

    def global_mean_std(self) -> Tuple[np.ndarray, np.ndarray]:
        """The normalisation for a speaker whose own statistics are unknown (identity without CMVN)."""
        if not self.cmvn:
            return np.zeros(self.input_dim, np.float32), np.ones(self.input_dim, np.float32)
        if self.global_stats is None:
            raise SerkitError(
                "the model has no global CMVN statistics (checkpoint from before they were recorded); "
                "give the speakers (--utt2spk or --spk2utt) so that their own statistics are used"
            )
        mean, std = mean_std(np.asarray(self.global_stats, dtype=np.float64))
        if not self.norm_vars:
            std = np.ones_like(std)
        return mean.astype(np.float32), std.astype(np.float32)

    # ---- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return to_dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "model card") -> "ModelMeta":
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise SerkitError(f"{where}: not a serkit model description ({err})") from None


def load_serkit_checkpoint(path) -> Dict[str, Any]:
    """:func:`serkit.train.checkpoint.load_checkpoint`, also turning foreign objects into a
    one-line :class:`SerkitError` (a pickled tensor, a list, an ONNX file...)."""
    from serkit.train.checkpoint import load_checkpoint

    try:
        state = load_checkpoint(path)
    except SerkitError:
        raise
    except Exception as err:
        raise SerkitError(f"'{path}' is not a serkit model checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise SerkitError(f"'{path}' is not a serkit model checkpoint (holds a {type(state).__name__})")
    return state


def _training_summary(state: Mapping[str, Any]) -> Dict[str, Any]:
    config = state.get("config") or {}
    out: Dict[str, Any] = {"data_config": config.get("data", {})}
    for key in ("train_data", "num_train_utts", "epoch", "averaged_from"):
        if key in state:
            out[key] = state[key]
    stats = state.get("global_cmvn")
    if stats is not None:
        out["train_frames"] = int(np.asarray(stats)[0, -1])
    history = state.get("history") or {}
    if history.get("best_epoch"):
        out["best_epoch"] = history["best_epoch"]
        out["best_dev_ua"] = history.get("best_ua")
    return out


def model_and_meta(state: Mapping[str, Any], where: str, feats_config: Optional[str] = None):
    """``(model, ModelMeta)`` of a loaded serkit checkpoint; ``feats_config`` (a conf/feats.yaml)
    replaces the checkpoint's record, which checkpoints from before it was stored lack."""
    import torch

    from serkit.export.modules import probe_model
    from serkit.models import model_from_checkpoint

    try:
        model = model_from_checkpoint(state)
    except SerkitError:
        raise
    except Exception as err:  # weights of another architecture, missing keys
        raise SerkitError(f"{where}: the weights do not fit model '{state['model_name']}' ({str(err).splitlines()[0]})") from None
    if feats_config:
        fconf = load_feature_config(feats_config)
    elif state.get("feats_config"):
        fconf = from_dict(FeatureConfig, state["feats_config"], section="feats_config")
    else:
        raise SerkitError(
            f"{where} does not record its feature configuration; pass --feats-config with the "
            f"conf/feats.yaml its training features were made with"
        )
    recorded = state.get("feats_type")
    if recorded and recorded != fconf.feat_type:
        raise ConfigError(f"{where}: trained on {recorded} features but the feature config says {fconf.feat_type}")
    input_dim = int(state["input_dim"])
    try:
        from serkit.feats.frontends import build_frontend  # torch: only when the dimension is asked

        dim = build_frontend(fconf).dim
    except SerkitError:
        raise
    except Exception as err:
        raise ConfigError(f"{where}: the feature config cannot be used ({err})") from None
    if dim != input_dim:
        raise ConfigError(
            f"{where}: the model expects {input_dim}-dim features but its feature config gives {dim}; "
            f"pass the right conf/feats.yaml with --feats-config"
        )
    data = (state.get("config") or {}).get("data", {})
    stats = state.get("global_cmvn")
    with torch.no_grad():
        min_frames, invariant = probe_model(model, input_dim)
    meta = ModelMeta(
        labels=[str(x) for x in state["labels"]], model_name=str(state["model_name"]),
        model_options=to_dict(dict(state["model_options"])), input_dim=input_dim, feats_config=to_dict(fconf),
        cmvn=bool(data.get("cmvn", True)), norm_vars=bool(data.get("norm_vars", True)),
        global_stats=np.asarray(stats, dtype=np.float64).tolist() if stats is not None else None,
        min_frames=min_frames, padding_invariant=invariant, training=to_dict(_training_summary(state)),
    )
    if meta.global_stats is not None and len(meta.global_stats[0]) != input_dim + 1:
        raise SerkitError(f"{where}: global CMVN stats have dimension {len(meta.global_stats[0]) - 1}, the model {input_dim}")
    return model, meta


def load_scores(path) -> Dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SerkitError(f"scores file '{path}' does not exist") from None
    except (OSError, ValueError) as err:
        raise SerkitError(f"scores file '{path}' is not readable JSON ({err})") from None
    if not isinstance(data, dict):
        raise SerkitError(f"scores file '{path}' must hold a JSON object of metrics")
    return data


def build_card(
    meta: ModelMeta, files: Mapping[str, Mapping[str, Any]], scores: Optional[Mapping[str, Any]] = None,
    parameters: Optional[int] = None,
) -> Dict[str, Any]:
    """The model card: everything a user of the exported files needs, as plain JSON."""
    win, hop = meta.frame_samples()
    mean = std = None
    if meta.global_stats is not None or not meta.cmvn:
        m, s = meta.global_mean_std()
        mean, std = [round(float(v), 6) for v in m], [round(float(v), 6) for v in s]
    return {
        "format": CARD_FORMAT,
        "card_version": CARD_VERSION,
        "serkit_version": serkit.__version__,
        "export_date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "labels": list(meta.labels),
        "sample_rate": meta.sample_rate,
        "model": {"name": meta.model_name, "options": meta.model_options, "parameters": parameters,
                  "min_frames": meta.min_frames, "padding_invariant": meta.padding_invariant},
        "features": {
            "type": meta.feat_type, "dim": meta.input_dim, "config": meta.feats_config,
            "frame_length_samples": win, "frame_shift_samples": hop,
            "frames": f"1 + (samples - {win}) // {hop}", "min_samples": meta.min_samples(),
            "input_scale": "float samples in [-1, 1], mono",
        },
        "cmvn": {
            "mode": meta.cmvn_mode, "norm_vars": meta.norm_vars, "how_to_supply": CMVN_HOWTO if meta.cmvn else
            "The model was trained without CMVN: pass raw features (cmvn_mean 0, cmvn_std 1).",
            "global_mean": mean, "global_std": std,
        },
        "silence": "inputs quieter than -60 dBFS RMS still get a prediction; serkit-infer flags them 'silent'",
        "training": meta.training,
        "metrics": dict(scores) if scores else None,
        "files": {name: dict(info) for name, info in files.items()},
        "meta": meta.to_dict(),
    }


def meta_from_card(card: Mapping[str, Any], where: str) -> ModelMeta:
    if not isinstance(card, Mapping) or card.get("format") != CARD_FORMAT or "meta" not in card:
        raise SerkitError(f"{where}: not a serkit model card")
    return ModelMeta.from_dict(card["meta"], where)


def write_card(card: Mapping[str, Any], path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
