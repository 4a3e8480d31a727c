import numpy as np
import pytest

from audioclf_lib.metrics import classification_metrics, clip_bootstrap_ci


def test_clip_bootstrap_ci_brackets_the_accuracy_and_is_reproducible():
    rng = np.random.default_rng(0)
    clip_ids = np.repeat(np.arange(100), 2)
    correct = rng.random(200) < 0.9
    low, high = clip_bootstrap_ci(correct, clip_ids, seed=1)
    assert low < correct.mean() < high
    assert (low, high) == clip_bootstrap_ci(correct, clip_ids, seed=1)
    assert clip_bootstrap_ci(np.ones(10), np.arange(10)) == (1.0, 1.0)


def test_clip_bootstrap_ci_counts_clips_not_windows():
    # 100 clips, each entirely right or entirely wrong: ten windows per clip add no evidence, so the
    # interval must be as wide as for 100 single windows (~ +-1.96 sqrt(p (1 - p) / 100) = +-5.9 points at 90 %).
    clip_right = np.r_[np.ones(90), np.zeros(10)]
    one = clip_bootstrap_ci(clip_right, np.arange(100), n_boot=4000)
    ten = clip_bootstrap_ci(np.repeat(clip_right, 10), np.repeat(np.arange(100), 10), n_boot=4000)
    naive = clip_bootstrap_ci(np.repeat(clip_right, 10), np.arange(1000), n_boot=4000)  # windows as if independent
    assert ten == pytest.approx(one, abs=0.01)
    assert 0.09 < ten[1] - ten[0] < 0.15
    assert naive[1] - naive[0] < 0.6 * (ten[1] - ten[0])


def test_clip_bootstrap_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="clip id"):
        clip_bootstrap_ci(np.ones(3), np.arange(2))
    with pytest.raises(ValueError, match="level"):
        clip_bootstrap_ci(np.ones(3), np.arange(3), level=1.5)


def test_classification_metrics_balanced_accuracy():
    m = classification_metrics(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]), ["a", "b"])
    assert m["accuracy"] == 0.75 and m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
