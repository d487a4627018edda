"""The batch pipeline stages: cropping, SpecAugment, bucketing, sampling, DDP slicing."""
import numpy as np
import pytest

from serkit.loader.examples import Example
from serkit.loader.config import DataConfig, SpecAugmentConfig
from serkit.loader.pipeline import (
    bucket, collate, crop, epoch_order, eval_batches, spec_augment, train_batches,
)


def _examples(n=40, dim=8, seed=0, labels=(0, 1, 2)):
    rng = np.random.default_rng(seed)
    return [
        Example(f"u{i:03d}", rng.normal(size=(int(rng.integers(20, 120)), dim)).astype(np.float32), labels[i % len(labels)], "s")
        for i in range(n)
    ]


def _items(examples):
    return [{"utt": e.utt, "feats": e.feats, "label": e.label} for e in examples]


def test_crop_limits_length_and_keeps_short_utterances():
    items = _items(_examples())
    out = list(crop(items, 50, np.random.default_rng(0)))
    for before, after in zip(items, out):
        assert len(after["feats"]) == min(50, len(before["feats"]))
        if len(before["feats"]) > 50:  # a window of the original
            start = next(s for s in range(len(before["feats"]) - 49) if np.array_equal(before["feats"][s], after["feats"][0]))
            assert np.array_equal(before["feats"][start:start + 50], after["feats"])


def test_spec_augment_masks_deterministically():
    items = _items(_examples(5))
    cfg = SpecAugmentConfig(freq_masks=2, freq_width=3, time_masks=2, time_width=10)
    a = list(spec_augment(items, cfg, np.random.default_rng(1)))
    b = list(spec_augment(items, cfg, np.random.default_rng(1)))
    assert all(np.array_equal(x["feats"], y["feats"]) for x, y in zip(a, b))
    changed = sum(not np.array_equal(x["feats"], it["feats"]) for x, it in zip(a, items))
    assert changed >= 4  # masks of width 0 are possible, but not for (almost) all
    assert all((x["feats"] == 0).any() for x, it in zip(a, items) if not np.array_equal(x["feats"], it["feats"]))
    off = list(spec_augment(items, SpecAugmentConfig(enabled=False), np.random.default_rng(1)))
    assert all(np.array_equal(x["feats"], it["feats"]) for x, it in zip(off, items))


def test_spec_augment_max_bin_keeps_frequency_masks_off_the_appended_columns():
    items = _items(_examples(20))
    dim = items[0]["feats"].shape[1]
    cfg = SpecAugmentConfig(freq_masks=3, freq_width=dim, time_masks=0, max_bin=dim - 4)
    out = list(spec_augment(items, cfg, np.random.default_rng(2)))
    assert all(np.array_equal(x["feats"][:, dim - 4:], it["feats"][:, dim - 4:]) for x, it in zip(out, items))
    assert sum(not np.array_equal(x["feats"], it["feats"]) for x, it in zip(out, items)) >= 15


def test_bucketing_sorts_within_buckets_and_keeps_everything():
    items = _items(_examples(37))
    batches = list(bucket(items, 4, 3))
    assert sum(len(b) for b in batches) == 37
    for b in batches:
        lengths = [len(it["feats"]) for it in b]
        assert lengths == sorted(lengths)


def test_collate_pads_and_records_lengths():
    batch = collate(_items(_examples(3)))
    assert batch.feats.shape[0] == 3 and batch.lengths.tolist() == [len(e.feats) for e in _examples(3)]
    assert float(batch.feats[0, batch.lengths[0]:].abs().sum()) == 0.0


def test_class_balanced_sampler_evens_out_a_skewed_set():
    labels = [0] * 90 + [1] * 10
    order = epoch_order(labels, "sampler", np.random.default_rng(0))
    share = np.mean(np.asarray(labels)[order] == 1)
    assert 0.35 < share < 0.65
    assert sorted(epoch_order(labels, "none", np.random.default_rng(0))) == list(range(100))


def test_corpus_balanced_sampling_gives_each_corpus_and_its_classes_a_share():
    """A pooled set of 900 utterances of corpus 'big' and 100 of 'small' (90 / 10 of its two
    classes): 'corpus' draws each corpus half the time; 'corpus_class' also splits small's half
    evenly over its classes."""
    corpora = ["big"] * 900 + ["small"] * 100
    labels = [0] * 450 + [1] * 450 + [0] * 90 + [1] * 10
    rng = np.random.default_rng(0)
    for balance in ("corpus", "corpus_class"):
        order = epoch_order(labels, balance, rng, corpora)
        assert len(order) == 1000
        picked = np.asarray(corpora)[order]
        assert 0.45 < np.mean(picked == "small") < 0.55
    small_draws = [i for i in order if corpora[i] == "small"]
    assert 0.4 < np.mean(np.asarray(labels)[small_draws] == 1) < 0.6  # corpus_class: 10 utterances, half the draws
    order = epoch_order(labels, "corpus", rng, corpora)
    small_draws = [i for i in order if corpora[i] == "small"]
    assert np.mean(np.asarray(labels)[small_draws] == 1) < 0.2  # corpus alone keeps small's own class skew
    with pytest.raises(ValueError, match="needs the corpus"):
        epoch_order(labels, "corpus", rng)


def test_train_batches_are_reproducible_per_epoch_and_change_across_epochs():
    ex = _examples()
    cfg = DataConfig(batch_size=8, max_frames=60)
    a = train_batches(ex, cfg, seed=3, epoch=1)
    b = train_batches(ex, cfg, seed=3, epoch=1)
    c = train_batches(ex, cfg, seed=3, epoch=2)
    assert [x.utts for x in a] == [x.utts for x in b]
    assert all(np.array_equal(x.feats, y.feats) for x, y in zip(a, b))
    assert [x.utts for x in a] != [x.utts for x in c]
    assert sorted(u for x in a for u in x.utts) == sorted(e.utt for e in ex)


def test_ranks_split_each_global_batch():
    ex = _examples(40)
    cfg = DataConfig(batch_size=8, max_frames=60)
    single = train_batches(ex, cfg, seed=5, epoch=1)
    r0 = train_batches(ex, cfg, seed=5, epoch=1, rank=0, world=2)
    r1 = train_batches(ex, cfg, seed=5, epoch=1, rank=1, world=2)
    assert len(r0) == len(r1) == len(single)
    for whole, a, b in zip(single, r0, r1):
        assert sorted(whole.utts) == sorted(a.utts + b.utts)


def test_eval_batches_cover_all_utterances_uncropped():
    ex = _examples(10)
    seen = {u: int(n) for b in eval_batches(ex, 4) for u, n in zip(b.utts, b.lengths)}
    assert seen == {e.utt: len(e.feats) for e in ex}


def test_data_config_rejects_unknown_balance():
    with pytest.raises(ValueError, match="balance 'oversample'"):
        DataConfig(balance="oversample")


def test_log_power_mixing_hits_the_snr():
    from serkit.loader.pipeline import mix_log_power

    rng = np.random.default_rng(0)
    speech = np.log(rng.uniform(0.5, 2.0, (50, 16)))
    noise = np.log(rng.uniform(0.1, 0.3, (50, 16)))
    for snr in (20.0, 5.0, 0.0):
        mixed = mix_log_power(speech, noise, snr)
        added = np.exp(mixed.astype(np.float64)) - np.exp(speech)  # the noise power that went in
        measured = 10 * np.log10(np.exp(speech).sum(1).mean() / added.sum(1).mean())
        assert abs(measured - snr) < 0.01
        assert np.all(mixed >= speech - 1e-5)  # adding power never lowers a bin


def test_online_noise_changes_the_batch_and_respects_cmvn():
    from serkit.loader.config import NoiseConfig
    from serkit.loader.pipeline import add_noise

    ex = _examples(6)
    mean, std = np.full(8, 2.0, np.float32), np.full(8, 0.5, np.float32)
    items = [dict(it, cmvn=(mean, std)) for it in _items(ex)]
    bank = [np.full((30, 8), -3.0, np.float32)]
    cfg = NoiseConfig(enabled=True, data="x", snrs=[0.0], prob=1.0)
    a = list(add_noise(items, bank, cfg, np.random.default_rng(4)))
    b = list(add_noise(items, bank, cfg, np.random.default_rng(4)))
    assert all(np.array_equal(x["feats"], y["feats"]) for x, y in zip(a, b))
    assert all(not np.allclose(x["feats"], it["feats"]) for x, it in zip(a, items))
    # un-normalised, every bin only gained power
    assert all(np.all(x["feats"] * std + mean >= it["feats"] * std + mean - 1e-4) for x, it in zip(a, items))
    off = list(add_noise(items, bank, NoiseConfig(enabled=True, data="x", prob=0.0), np.random.default_rng(4)))
    assert all(np.array_equal(x["feats"], it["feats"]) for x, it in zip(off, items))


def test_follow_cmvn_matches_the_statistics_of_a_noisy_test_set():
    """A noisy test set gets per-speaker CMVN computed on its noisy speech: with follow_cmvn a noisy
    training crop is normalised as that test set would be; without it, with the clean statistics."""
    from serkit.loader.config import NoiseConfig
    from serkit.loader.pipeline import add_noise, mix_log_power

    rng = np.random.default_rng(1)
    clean = [np.log(rng.gamma(2.0, 1.0, (200, 8))) + np.linspace(0, 3, 8) for _ in range(4)]  # one speaker
    noise = np.tile(np.log(rng.uniform(0.5, 4.0, 8)), (200, 1)).astype(np.float32)  # stationary: any stretch is alike
    stacked = np.concatenate(clean)
    mean, std = stacked.mean(0), stacked.std(0)  # the clean speaker's CMVN
    items = [{"feats": ((c - mean) / std).astype(np.float32), "cmvn": (mean, std), "label": 0} for c in clean]
    noisy = [mix_log_power(c, noise, 0.0) for c in clean]  # the test set: same noise, 0 dB
    n_all = np.concatenate(noisy)
    test_feats = [(n - n_all.mean(0)) / n_all.std(0) for n in noisy]  # normalised on the noisy speech

    def error(follow: bool) -> float:
        cfg = NoiseConfig(enabled=True, data="x", snrs=[0.0], prob=1.0, follow_cmvn=follow)
        out = list(add_noise(items, [noise], cfg, np.random.default_rng(0)))
        return float(np.mean([np.abs(o["feats"] - t).mean() for o, t in zip(out, test_feats)]))

    # clean statistics leave the noise floor in (1.6 std off here); followed ones are 8x closer
    assert error(False) > 1.0 and error(True) < error(False) / 5


def test_noise_bank_needs_log_power_features(tmp_path):
    from conftest import make_feature_dir
    from serkit.loader.examples import load_noise_bank
    from serkit.errors import DataDirError

    d = make_feature_dir(tmp_path, "noise", speakers=("n",), utts_per_spk=2)
    (d / "feats_type").write_text("mfcc\n")
    with pytest.raises(DataDirError, match="needs log-power features"):
        load_noise_bank(d, None)
    (d / "feats_type").write_text("logmel\n")
    with pytest.raises(DataDirError, match="has logmel features but the training data has fbank"):
        load_noise_bank(d, "fbank")
    assert len(load_noise_bank(d, "logmel")) == 2


def test_reverberation_adds_a_tail_of_the_asked_length_and_level():
    from serkit.loader.pipeline import reverb_log_power

    floor = np.log(1e-12)
    feats = np.full((200, 3), floor, dtype=np.float32)
    feats[10] = 0.0  # one frame of power 1 in silence: the output is the kernel itself
    out = np.exp(reverb_log_power(feats, rt60=0.5, drr_db=6.0, frame_shift_s=0.01).astype(np.float64)) - 1e-12
    assert out[10, 0] == pytest.approx(1.0, rel=1e-5) and np.all(out[:10] < 1e-9)  # causal, direct path kept
    tail = out[11:, 0]
    assert tail.sum() == pytest.approx(10 ** (-6.0 / 10), rel=1e-3)  # direct-to-reverberant ratio 6 dB
    assert tail[50] / tail[0] == pytest.approx(10 ** (-60 * 0.5 / 0.5 / 10), rel=1e-3)  # 60 dB per RT60 (50 frames)


def test_reverb_stage_changes_a_share_of_items_reproducibly():
    from serkit.loader.config import ReverbConfig
    from serkit.loader.pipeline import add_reverb

    items = [{"utt": f"u{i}", "feats": np.random.default_rng(i).normal(size=(80, 4)).astype(np.float32),
              "label": 0, "cmvn": (np.zeros(4), np.ones(4))} for i in range(40)]
    config = ReverbConfig(enabled=True, prob=0.5)
    first = list(add_reverb(items, config, np.random.default_rng(3)))
    again = list(add_reverb(items, config, np.random.default_rng(3)))
    changed = [not np.array_equal(a["feats"], b["feats"]) for a, b in zip(items, first)]
    assert 10 < sum(changed) < 30  # about half
    assert all(np.array_equal(a["feats"], b["feats"]) for a, b in zip(first, again))
    assert all(np.all(b["feats"] >= a["feats"] - 1e-5) for a, b in zip(items, first))  # energy is only added


def _noisy_copies(examples, offset=5.0):
    """Each example's copy under ``noise-<utt>`` with its source recorded, as fold_variants writes them."""
    return [Example(f"noise-{e.utt}", e.feats + np.float32(offset), e.label, "noise-s", source=e.utt) for e in examples]


def test_clean_partners_pair_a_copy_with_its_source_only_when_the_frames_match():
    from serkit.loader.pipeline import clean_partners

    clean = _examples(4)
    copies = _noisy_copies(clean[:2])
    stretched = Example("sp0.9-u002", np.zeros((len(clean[2].feats) + 7, 8), np.float32), 2, "sp0.9-s", source="u002")
    orphan = Example("noise-gone", clean[3].feats, 0, "noise-s", source="not-loaded")
    partners, paired = clean_partners(clean + copies + [stretched, orphan])
    assert partners == [0, 1, 2, 3, 0, 1, 6, 7] and paired == 2  # copies -> sources; the rest -> themselves


def test_batches_carry_each_items_clean_version_cropped_and_masked_alike():
    from serkit.loader.pipeline import clean_partners

    clean = _examples(12)
    examples = clean + _noisy_copies(clean)
    partners, _ = clean_partners(examples)
    config = DataConfig(batch_size=8, max_frames=50,
                        spec_augment=SpecAugmentConfig(freq_masks=2, freq_width=3, time_masks=2, time_width=8))
    batches = train_batches(examples, config, seed=1, epoch=1, partners=partners)
    assert all(b.clean is not None and b.clean.shape == b.feats.shape for b in batches)
    by_utt = {e.utt: e for e in examples}
    masked = 0
    for b in batches:
        for i, utt in enumerate(b.utts):
            n = int(b.lengths[i])
            feats, cln = b.feats[i, :n].numpy(), b.clean[i, :n].numpy()
            diff = feats - cln
            zero = (feats == 0) & (cln == 0)  # SpecAugment's masks, the same on both
            masked += zero.sum()
            expected = 5.0 if utt.startswith("noise-") else 0.0
            assert np.allclose(diff[~zero], expected, atol=1e-5)
            source = by_utt[by_utt[utt].source or utt].feats  # cln is a window of the source
            rows = ~zero.all(axis=1)
            assert any(np.allclose(source[s:s + n][rows][~zero[rows]], cln[rows][~zero[rows]])
                       for s in range(len(source) - n + 1))
    assert masked > 0
    assert all(b.clean is None for b in train_batches(examples, config, seed=1, epoch=1))  # only when asked


def test_with_online_noise_the_clean_version_is_the_crop_before_mixing():
    from serkit.loader.config import NoiseConfig
    from serkit.loader.pipeline import clean_partners

    examples = _examples(10)
    config = DataConfig(batch_size=4, max_frames=50, spec_augment=SpecAugmentConfig(enabled=False),
                        noise=NoiseConfig(enabled=True, data="x", snrs=[0.0], prob=1.0))
    partners, paired = clean_partners(examples)
    assert paired == 0 and partners == list(range(10))
    bank = [np.full((30, 8), -3.0, np.float32)]
    by_utt = {e.utt: e.feats for e in examples}
    for batch in train_batches(examples, config, seed=2, epoch=1, noise_bank=bank, partners=partners):
        for k, utt in enumerate(batch.utts):
            n = int(batch.lengths[k])
            feats, clean = batch.feats[k, :n].numpy(), batch.clean[k, :n].numpy()
            source = by_utt[utt]  # clean: a window of the utterance, unmixed
            assert any(np.array_equal(source[s:s + n], clean) for s in range(len(source) - n + 1))
            assert np.all(feats >= clean - 1e-4) and not np.allclose(feats, clean)  # feats: it, plus noise power
