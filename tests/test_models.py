"""The acoustic models: real band-parallel branches, padding invariance, registry, size/cost."""
import pytest
import torch

from conftest import TINY_MODEL
from serkit.errors import ConfigError
from serkit.models import MODELS, build_model
from serkit.models.parallel_crnn import band_ranges
from serkit.models.profile import count_parameters, flops_per_second_of_audio
from serkit.train.config import load_train_config


def test_registry_holds_the_three_models():
    assert {"parallel_crnn", "crnn", "seed_crnn"} <= set(MODELS)


def test_band_ranges_default_and_explicit():
    assert band_ranges(128, 3, None, 8) == [(0, 51), (35, 93), (77, 128)]
    assert band_ranges(128, 2, [0, 32, 128], 0) == [(0, 32), (32, 128)]
    with pytest.raises(ValueError, match="must rise strictly"):
        band_ranges(128, 2, [0, 140, 128], 0)
    with pytest.raises(ValueError, match="needs 4 boundaries"):
        band_ranges(128, 3, [0, 64, 128], 0)


def test_each_branch_sees_only_its_band():
    torch.manual_seed(0)
    model = build_model("parallel_crnn", {"band_edges": [0, 40, 80, 128], "band_overlap": 4}, 128, 4).eval()
    x = torch.randn(1, 64, 128, requires_grad=True)
    frames = model.frame_features(x)
    dim = model.config.branch_dim
    for k, (start, end) in enumerate(model.bands):
        (grad,) = torch.autograd.grad(frames[..., k * dim:(k + 1) * dim].sum(), x, retain_graph=True)
        touched = (grad.abs().sum(dim=(0, 1)) > 0).nonzero().flatten()
        assert touched.min().item() >= start and touched.max().item() < end
        assert (start, end) == [(0, 44), (36, 84), (76, 128)][k]


def test_prosody_columns_get_their_own_branch_and_no_band_sees_them():
    torch.manual_seed(0)
    model = build_model("parallel_crnn", {"prosody_dim": 25, "band_overlap": 0}, 153, 4).eval()
    assert model.bands == [(0, 43), (43, 85), (85, 128)]  # the 128 spectral columns only
    x = torch.randn(1, 64, 153, requires_grad=True)
    frames = model.frame_features(x)
    dim = model.config.branch_dim
    assert frames.shape[-1] == 4 * dim
    (bands_grad,) = torch.autograd.grad(frames[..., :3 * dim].sum(), x, retain_graph=True)
    (prosody_grad,) = torch.autograd.grad(frames[..., 3 * dim:].sum(), x)
    assert bands_grad[..., 128:].abs().sum() == 0 and bands_grad[..., :128].abs().sum() > 0
    assert prosody_grad[..., :128].abs().sum() == 0 and (prosody_grad[..., 128:].abs().sum(dim=(0, 1)) > 0).all()
    with pytest.raises(ValueError, match="prosody_dim 25 leaves 2 of the 27 feature columns for 3 bands"):
        build_model("parallel_crnn", {"prosody_dim": 25}, 27, 4)


def test_seed_crnn_branches_see_the_whole_spectrum_as_in_the_paper():
    model = build_model("seed_crnn", {}, 128, 7)
    assert all(branch[0].in_channels == 128 for branch in model.cnn_branches)


@pytest.mark.parametrize("name,options", [
    ("parallel_crnn", {}), ("crnn", {}),
    ("parallel_crnn", {"pool_first": True, "pools": [[4, 2], [2, 2], [1, 2]]}),  # the CPU-cheap layout
    ("parallel_crnn", {"pool_first": True, "pools": [[4, 2], [2, 2], [1, 2]], "prosody_dim": 9}),
])
def test_padding_does_not_change_the_output(name, options):
    torch.manual_seed(0)
    model = build_model(name, options, 64, 5).eval()
    short, long = torch.randn(1, 77, 64), torch.randn(1, 160, 64)
    batch = torch.zeros(2, 160, 64)
    batch[0, :77], batch[1] = short[0], long[0]
    with torch.no_grad():
        alone = model(short, torch.tensor([77]))
        padded = model(batch, torch.tensor([77, 160]))
    assert torch.allclose(alone, padded[0:1], atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forward_shapes_and_multi_head_attention(cell):
    model = build_model("parallel_crnn", {**TINY_MODEL, "rnn": cell, "attention_heads": 3}, 24, 4)
    logits = model(torch.randn(3, 50, 24), torch.tensor([50, 31, 9]))
    assert logits.shape == (3, 4)
    _, weights = model.encode(torch.randn(2, 50, 24), torch.tensor([50, 20]))
    assert weights.shape[-1] == 3
    # masked softmax: no weight on frames past the end of the shorter utterance
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, 3))
    assert weights[1, 20 // model.time_stride:].abs().max() == 0


def test_single_branch_crnn_is_about_the_same_size():
    parallel = count_parameters(build_model("parallel_crnn", {}, 128, 7))
    single = count_parameters(build_model("crnn", {}, 128, 7))
    assert abs(single - parallel) / parallel < 0.25


def test_flops_grow_with_width():
    small = flops_per_second_of_audio(build_model("parallel_crnn", {"channels": [8, 16, 32]}, 128, 7), 128)
    big = flops_per_second_of_audio(build_model("parallel_crnn", {}, 128, 7), 128)
    assert 0 < small < big


def test_unknown_model_and_option_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown model 'parrallel_crnn'; registered models: crnn, ensemble, parallel_crnn"):
        build_model("parrallel_crnn", {}, 128, 7)
    conf = tmp_path / "train.yaml"
    conf.write_text("model:\n  name: parallel_crnn\n  num_band: 3\n")
    config = load_train_config(conf)
    with pytest.raises(ConfigError, match=r"train.yaml:3: unknown option 'model.num_band'; did you mean 'num_bands'"):
        build_model(config.model.name, config.model.options, 128, 7)
    conf.write_text("model:\n  name: parallel_crnn\n  rnn: transformer\n")
    config = load_train_config(conf)
    with pytest.raises(ConfigError, match="rnn 'transformer' is not lstm or gru"):
        build_model(config.model.name, config.model.options, 128, 7)


def test_attentive_stats_pooling_doubles_the_utterance_vector():
    plain = build_model("parallel_crnn", TINY_MODEL, 24, 3)
    stats = build_model("parallel_crnn", {**TINY_MODEL, "pooling": "attentive_stats"}, 24, 3)
    assert stats.pooling.out_dim == 2 * plain.pooling.out_dim
    x = torch.randn(2, 40, 24)
    pooled, _ = stats.eval().encode(x, torch.tensor([40, 40]))
    assert pooled.shape == (2, stats.pooling.out_dim) and torch.all(pooled[:, plain.pooling.out_dim:] >= 0)
    with pytest.raises(ConfigError, match="model: pooling 'max' is not attention or attentive_stats"):
        build_model("parallel_crnn", {"pooling": "max"}, 24, 3)


def test_pool_first_pools_before_normalising():
    """conv -> max-pool -> BatchNorm -> ReLU: the norm sees the pooled map (a quarter of the frames
    and bins), and a block's output equals doing those four steps by hand."""
    from serkit.models.layers import ConvBlock

    torch.manual_seed(0)
    block = ConvBlock(1, 4, 3, (2, 2), "relu", pool_first=True).eval()
    block.norm.running_mean.uniform_(-1, 1)
    block.norm.running_var.uniform_(0.5, 2)
    with torch.no_grad():
        block.norm.weight[0] = -1.0  # a decreasing channel: max-pooling no longer commutes with the norm
    x = torch.randn(2, 1, 20, 12)
    by_hand = torch.relu(block.norm(torch.nn.functional.max_pool2d(block.conv(x), (2, 2))))
    assert torch.equal(block(x), by_hand)
    usual = ConvBlock(1, 4, 3, (2, 2), "relu").eval()
    usual.load_state_dict(block.state_dict())
    assert not torch.allclose(usual(x), by_hand)  # a different layout, not a renaming


@pytest.mark.parametrize("rnn_float32", [False, True])
def test_rnn_float32_keeps_the_back_end_out_of_cpu_autocast(rnn_float32):
    model = build_model("parallel_crnn", {**TINY_MODEL, "rnn_float32": rnn_float32}, 24, 4)
    seen = {}
    model.encoder.register_forward_hook(lambda m, i, o: seen.update(rnn=o.dtype))
    model.branches[0].register_forward_hook(lambda m, i, o: seen.update(cnn=o.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(torch.randn(2, 40, 24), torch.tensor([40, 30]))
    assert seen["cnn"] == torch.bfloat16  # the band CNNs always follow the autocast
    assert seen["rnn"] == logits.dtype == (torch.float32 if rnn_float32 else torch.bfloat16)
