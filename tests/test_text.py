"""Transcripts as input: sentencepiece trained deterministically on the training text and stored
in every checkpoint, tokens in the batch pipeline, utterances without text, and a text model
trained and decoded through the command-line tools."""
import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from conftest import make_feature_dir, run_script
from serkit.data.table import read_table, write_table
from serkit.loader.examples import labels_of, load_examples
from serkit.loader.config import DataConfig
from serkit.loader.pipeline import collate, drop_text, eval_batches, items, tokenized, train_batches
from serkit.errors import ConfigError, SerkitError
from serkit.text.tokenizer import TextConfig, Tokenizer, train_sentencepiece
from serkit.train.checkpoint import load_checkpoint
from serkit.train.config import load_train_config
from serkit.train.distributed import DistContext
from serkit.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


WORDS = {"angry": ["furious", "livid"], "neutral": ["plain", "usual"], "sad": ["gloomy", "lonely"]}
TEXTS = [f"the {w} cat sat on {v} mats" for w in sum(WORDS.values(), []) for v in ("red", "old", "few")]


def add_text(d, seed, without=(), empty=()):
    """A transcript per utterance whose word names its class 90 % of the time."""
    rng = np.random.default_rng(seed)
    text = {}
    for utt, label in read_table(d / "utt2emo").items():
        if utt in without:
            continue
        word = rng.choice(WORDS[label]) if rng.random() < 0.9 else rng.choice(sum(WORDS.values(), []))
        text[utt] = "" if utt in empty else f"The {word} cat sat"
    write_table(d / "text", text)
    return d


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    train = add_text(make_feature_dir(root, "train", speakers=("a", "b", "c"), seed=1, frames=(20, 40)), 1)
    dev = add_text(make_feature_dir(root, "dev", speakers=("d",), seed=2, frames=(20, 40)), 2)
    test = add_text(make_feature_dir(root, "test", speakers=("e",), seed=3, frames=(20, 40)), 3,
                    without=("e-000", "e-001"), empty=("e-002",))
    return train, dev, test


TEXT_MODEL = {"name": "text_only", "text_embed_dim": 8, "text_hidden": 8, "text_attention_hidden": 4}


def _config(tmp_path, model=None, **text):
    data = {
        "model": model or TEXT_MODEL,
        "data": {"batch_size": 8, "max_frames": 30, "spec_augment": {"enabled": False},
                 "text": {"enabled": True, "vocab_size": 40, **text}},
        "optim": {"lr": 0.02},
        "scheduler": {"name": "cosine"},  # some trainers here have no dev set
        "train": {"max_epochs": 2, "early_stop_patience": 0, "average_best": 2, "num_threads": 1},
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _examples(d, text=True):
    return load_examples(d, labels_of(d), show_progress=False, text=text)


def test_sentencepiece_is_deterministic_and_trained_on_the_given_text():
    config = TextConfig(enabled=True, vocab_size=40)
    a, b = train_sentencepiece(TEXTS, config), train_sentencepiece(list(TEXTS), config)
    assert a == b  # byte-identical
    assert train_sentencepiece(TEXTS + ["zebra quagga"], config) != a
    bpe = train_sentencepiece(TEXTS, TextConfig(enabled=True, vocab_size=40, model_type="bpe"))
    assert bpe != a and Tokenizer(bpe).vocab_size == 40
    tok = Tokenizer(a)
    assert 3 <= tok.vocab_size <= 40
    ids = tok.encode("The  FURIOUS cat")  # normalised: lower case, single spaces
    assert ids.dtype == np.int64 and len(ids) > 0 and ids.min() >= 1 and np.array_equal(ids, tok.encode("the furious cat"))
    assert len(tok.encode(None)) == 0 and len(tok.encode("")) == 0
    assert len(Tokenizer(a, max_tokens=2).encode("the furious cat sat")) == 2
    with pytest.raises(SerkitError, match="none of the training utterances has a transcript"):
        train_sentencepiece([None, "", "  "], config)
    with pytest.raises(SerkitError, match="not a sentencepiece model"):
        Tokenizer(b"\x00garbage")
    with pytest.raises(ConfigError, match="model_type 'wordpiece' is not unigram or bpe"):
        load_train_config(None, ["data.text.model_type=wordpiece"])


def test_examples_read_text_and_missing_text_is_none(tmp_path, dirs):
    test = {ex.utt: ex for ex in _examples(dirs[2])}
    assert test["e-000"].text is None and test["e-002"].text is None  # absent, and empty
    assert test["e-003"].text.startswith("The ")
    assert all(ex.text is None for ex in _examples(dirs[2], text=False))
    bare = tmp_path / "bare"
    shutil.copytree(dirs[2], bare)
    (bare / "text").unlink()  # no text table at all: every utterance gets the "no text" input
    assert all(ex.text is None for ex in _examples(bare))


def test_pipeline_pads_tokens_and_keeps_empty_ones(dirs):
    examples = _examples(dirs[2])
    tok = Tokenizer(train_sentencepiece([ex.text for ex in _examples(dirs[0])], TextConfig(enabled=True, vocab_size=40)))
    examples, without = tokenized(examples, tok)
    assert without == 3
    batch = collate(list(items(examples, range(4))))
    lengths = [len(tok.encode(ex.text)) for ex in examples[:4]]
    assert batch.token_lengths.tolist() == lengths and lengths[:3] == [0, 0, 0]
    assert batch.tokens.shape == (4, max(lengths)) and batch.tokens.dtype == torch.long
    assert batch.tokens[:3].abs().sum() == 0  # all padding
    assert batch.tokens[3, : lengths[3]].tolist() == examples[3].tokens.tolist()
    only_empty = collate(list(items(examples, range(3))))
    assert only_empty.tokens.shape == (3, 1) and only_empty.token_lengths.tolist() == [0, 0, 0]
    assert all(b.tokens is not None for b in eval_batches(examples, 5))
    assert collate(list(items(_examples(dirs[2], text=False), range(3)))).tokens is None  # acoustic batches
    with pytest.raises(ValueError, match="some items have tokens"):
        collate([dict(next(items(examples, [3]))), {k: v for k, v in next(items(examples, [4])).items() if k != "tokens"}])
    # text dropout hides transcripts, and leaves the audio side of the batches unchanged
    dropped = list(drop_text(items(examples, range(len(examples))), 0.5, np.random.default_rng(0)))
    assert 0 < sum(len(it["tokens"]) == 0 for it in dropped) < len(examples)
    cfg = DataConfig(batch_size=4, max_frames=30, text=TextConfig(enabled=True, drop_prob=0.5))
    plain = DataConfig(batch_size=4, max_frames=30, text=TextConfig(enabled=True))
    with_drop, without = train_batches(examples, cfg, 1, 1), train_batches(examples, plain, 1, 1)
    assert all(torch.equal(a.feats, b.feats) and a.utts == b.utts for a, b in zip(with_drop, without))
    assert sum(int(b.token_lengths.sum()) for b in with_drop) < sum(int(b.token_lengths.sum()) for b in without)


def test_trainer_trains_spm_on_train_text_only_and_stores_it_everywhere(tmp_path, dirs):
    torch.set_num_threads(1)
    config = load_train_config(_config(tmp_path))
    labels = labels_of(dirs[0])
    train, dev = _examples(dirs[0]), _examples(dirs[1])
    trainer = Trainer(config, tmp_path / "exp", train, dev, labels, DistContext())
    assert not (tmp_path / "exp").exists()  # construction and setup write nothing
    trainer.setup()
    assert not (tmp_path / "exp").exists() and "vocab_size" not in config.model.options  # the caller's config
    trainer.fit()
    spm = (tmp_path / "exp" / "spm.model").read_bytes()
    assert spm == train_sentencepiece([ex.text for ex in train], config.data.text)  # train text only, deterministic
    for name in ("epoch_1.pt", "epoch_2.pt", "best.pt", "final.pt"):
        state = load_checkpoint(tmp_path / "exp" / name)
        assert state["spm_model"] == spm and state["model_options"]["vocab_size"] == Tokenizer(spm).vocab_size
    assert all(ex.tokens is not None for ex in trainer.train_set + trainer.dev_set)
    assert all(ex.tokens is None for ex in train + dev)  # the caller's examples are left as they were
    # dev text does not enter the tokenizer; another training text does
    other_dev = _examples(dirs[1])
    for ex in other_dev:
        ex.text = "zebra quagga okapi"
    again = Trainer(load_train_config(_config(tmp_path)), tmp_path / "again", _examples(dirs[0]), other_dev, labels,
                    DistContext()).setup()
    assert again.tokenizer.model_bytes == spm
    changed = _examples(dirs[0])
    changed[0].text = "zebra quagga okapi"
    other = Trainer(load_train_config(_config(tmp_path)), tmp_path / "other", changed, None, labels, DistContext())
    with pytest.raises(SerkitError, match="sentencepiece model differs"):
        other.resume(load_checkpoint(tmp_path / "exp" / "epoch_1.pt"))


def test_text_models_need_text_enabled_and_no_mixup(tmp_path, dirs):
    labels = labels_of(dirs[0])
    off = load_train_config(_config(tmp_path), ["data.text.enabled=false"])
    with pytest.raises(ConfigError, match="model 'text_only' reads transcripts: set data.text.enabled: true"):
        Trainer(off, tmp_path / "x", _examples(dirs[0], text=False), None, labels, DistContext())
    mix = load_train_config(_config(tmp_path), ["train.mixup_alpha=0.2"])
    with pytest.raises(ConfigError, match="set train.mixup_alpha: 0"):
        Trainer(mix, tmp_path / "y", _examples(dirs[0]), None, labels, DistContext())
    with pytest.raises(SerkitError, match="none of the training utterances has a transcript"):
        Trainer(load_train_config(_config(tmp_path)), tmp_path / "z", _examples(dirs[0], text=False), None, labels,
                DistContext()).setup()


def test_train_and_predict_a_text_model_with_the_clis(tmp_path, dirs):
    train, dev, test = dirs
    exp = tmp_path / "exp"
    run_script(["python", "-m", "serkit.bin.train", "--config", _config(tmp_path, drop_prob=0.2),
                "--train-data", train, "--dev-data", dev, "--exp-dir", exp, "--override", "train.max_epochs=15"])
    assert (exp / "spm.model").is_file() and yaml.safe_load((exp / "config.yaml").read_text())["model"]["options"]
    (exp / "spm.model").unlink()  # predict needs only the checkpoint
    out = tmp_path / "decode"
    run_script(["python", "-m", "serkit.bin.predict", "--model", exp / "final.pt", "--data", test, "--out-dir", out, "--num-threads", "1"])
    pred = read_table(out / "utt2pred")
    assert list(pred) == list(read_table(test / "utt2spk"))  # every utterance, with or without text
    history = json.loads((exp / "history.json").read_text())
    assert history["best_ua"] > 0.6  # the words name the class 90 % of the time; chance is 1/3
    ref = read_table(test / "utt2emo")
    with_text = [u for u in pred if u not in ("e-000", "e-001", "e-002")]
    assert np.mean([pred[u] == ref[u] for u in with_text]) > 0.6
    no_text = {pred[u] for u in ("e-000", "e-001", "e-002")}
    assert len(no_text) == 1  # the learned "no text" input: one answer whatever the audio
