"""The decision policy (segments.policy, segments.merge), its file formats (segments.formats) and time-based evaluation
(segments.evaluate), on hand-made probability sequences and hand-checked examples. No model needed."""
import math
import pickle
import stat

import numpy as np
import pandas as pd
import pytest

from audioclf_lib.segments.evaluate import (boundary_scores, evaluate_segments, frame_labels, match_boundaries,
                                       normalize_segments, segment_boundaries)
from audioclf_lib.segments.formats import (FORMATS, SUFFIXES, atomic_write_text, format_for_path, format_segments,
                                          parse_segments, read_segments, rttm_file_id, write_segments)
from audioclf_lib.segments import (DecisionPolicy, Segmenter, check_segments, decide_windows, merge_segments,
                                   segment_probabilities, smooth_probabilities, viterbi_labels)

CLASSES = ["music", "speech", "noise"]
M, S, N = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]  # confident windows of each class
LOUD, QUIET = -20.0, -90.0  # window levels (dBFS) either side of the default -60 dBFS gate


def probs(*rows):
    return np.array(rows, dtype=np.float64)


def seg(P, levels=None, *, duration_s=None, **policy):
    policy.setdefault("window_seconds", 1.0)
    policy = DecisionPolicy(**policy)
    P = np.asarray(P, dtype=np.float64)
    duration_s = len(P) * policy.hop_seconds if duration_s is None else duration_s
    return segment_probabilities(P, levels, policy=policy, class_names=CLASSES, duration_s=duration_s)


def rows(table):
    """(start, end, label) tuples, times rounded to µs, for exact comparisons."""
    return [(round(s, 6), round(e, 6), lab) for s, e, lab in table[["start", "end", "label"]].itertuples(index=False)]


# -- smoothing ---------------------------------------------------------------------------------------


def test_median_of_three_keeps_one_odd_window_from_splitting_a_segment():
    P = probs(M, M, M, S, M, M, M)
    assert rows(seg(P, smoothing="none")) == [(0, 3, "music"), (3, 4, "speech"), (4, 7, "music")]
    assert rows(seg(P, smoothing="median", smoothing_windows=3)) == [(0, 7, "music")]
    # Two odd windows in a row are a real change for k=3: median of (S, S, M) per class is S.
    P2 = probs(M, M, M, S, S, M, M, M)
    assert rows(seg(P2, smoothing="median", smoothing_windows=3)) == [(0, 3, "music"), (3, 5, "speech"), (5, 8, "music")]


def test_mean_smoothing_by_hand_with_truncated_ends_and_causal_mode():
    P = probs([1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    policy = DecisionPolicy(window_seconds=1, smoothing="mean", smoothing_windows=3)
    # Centred: window 0 sees windows 0-1 -> (1+0)/2 = 0.5; window 1 sees 0-2 -> 1/3; window 2 sees
    # 1-3 -> 1/3; window 3 sees 2-3 -> 0.5 (first column; the second is 1 minus it).
    np.testing.assert_allclose(smooth_probabilities(P, policy)[:, 0], [0.5, 1 / 3, 1 / 3, 0.5])
    # Causal: window t sees t-2..t -> 1, 1/2, 1/3, 1/3.
    np.testing.assert_allclose(smooth_probabilities(P, policy, causal=True)[:, 0], [1, 0.5, 1 / 3, 1 / 3])
    np.testing.assert_allclose(smooth_probabilities(P, policy).sum(axis=1), 1.0)


def test_median_smoothing_renormalises_rows():
    P = probs([0.6, 0.4, 0.0], [0.5, 0.2, 0.3], [0.1, 0.6, 0.3])
    policy = DecisionPolicy(window_seconds=1, smoothing="median", smoothing_windows=3)
    # Window 1 sees all three: per-class medians 0.5, 0.4, 0.3 (sum 1.2) -> 5/12, 4/12, 3/12.
    np.testing.assert_allclose(smooth_probabilities(P, policy)[1], [5 / 12, 4 / 12, 3 / 12])
    np.testing.assert_allclose(smooth_probabilities(P, policy).sum(axis=1), 1.0)


def test_viterbi_penalty_by_hand():
    P = probs([0.9, 0.1], [0.3, 0.7], [0.9, 0.1])
    # Staying in class 0: ln .9 + ln .3 + ln .9 = -1.414; visiting class 1 in the middle:
    # ln .9 + ln .7 + ln .9 - 2 p = -0.567 - 2 p. The visit wins when p < 0.4236.
    assert viterbi_labels(P, 0.0).tolist() == [0, 1, 0]
    assert viterbi_labels(P, 0.3).tolist() == [0, 1, 0]
    assert viterbi_labels(P, 0.5).tolist() == [0, 0, 0]


def test_viterbi_causal_decides_later_than_the_full_path():
    P = probs([0.9, 0.1], [0.3, 0.7], [0.3, 0.7], [0.3, 0.7])
    # Forward scores with p = 2 (class 0, class 1):
    #   t=1: ln.9+ln.3 = -1.309 | max(ln.1, ln.9-2) + ln.7 = -2.462  -> causal label 0
    #   t=2: -1.309+ln.3 = -2.513 | max(-2.462, -3.309) + ln.7 = -2.819 -> 0
    #   t=3: -2.513+ln.3 = -3.717 | -2.819 + ln.7 = -3.176               -> 1
    # Backtracking from class 1 stays in 1 to t=1 and switched there (ln.9-2 > ln.1).
    assert viterbi_labels(P, 2.0, causal=True).tolist() == [0, 0, 0, 1]
    assert viterbi_labels(P, 2.0).tolist() == [0, 1, 1, 1]


def test_viterbi_with_a_big_penalty_gives_one_segment():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=40)
    flicker = seg(P, smoothing="none")
    assert len(flicker) > 10
    one = seg(P, smoothing="viterbi", switch_penalty=1e6)
    assert len(one) == 1 and rows(one) == [(0, 40, one["label"][0])]


def test_silence_splits_runs_and_is_not_smoothed_across():
    # Window 3 is alone between the gate and the end. Smoothed on its own it stays speech; had the
    # smoothing joined the sounding windows across the pause, mean(M, [.6, .3, .1]) would say music.
    P = probs(M, M, [np.nan] * 3, [0.3, 0.6, 0.1])
    levels = [LOUD, LOUD, QUIET, LOUD]
    labels, conf = decide_windows(P, np.array(levels) < -60, CLASSES,
                                  DecisionPolicy(window_seconds=1, smoothing="mean", smoothing_windows=3))
    assert labels.tolist() == ["music", "music", "silence", "speech"]
    np.testing.assert_allclose(conf, [0.8, 0.8, 1.0, 0.6])
    assert rows(seg(P, levels, smoothing="mean")) == [(0, 2, "music"), (2, 3, "silence"), (3, 4, "speech")]
    # Digital silence (-inf dBFS) is gated too; no windows at all is no decision.
    assert rows(seg(probs(M, M), [-np.inf, LOUD])) == [(0, 1, "silence"), (1, 2, "music")]
    assert decide_windows(np.zeros((0, 3)), None, CLASSES, DecisionPolicy())[0].size == 0


def test_class_thresholds_reject_to_unknown_with_the_winners_confidence():
    P = probs([0.7, 0.2, 0.1], [0.9, 0.05, 0.05], [0.2, 0.5, 0.3])
    policy = DecisionPolicy(window_seconds=1, smoothing="none", class_thresholds={"music": 0.8})
    labels, conf = decide_windows(P, None, CLASSES, policy)
    assert labels.tolist() == ["unknown", "music", "speech"]  # speech has no threshold (0)
    np.testing.assert_allclose(conf, [0.7, 0.9, 0.5])
    with pytest.raises(ValueError, match="jazz"):
        decide_windows(P, None, CLASSES, DecisionPolicy(window_seconds=1, class_thresholds={"jazz": 0.5}))


# -- merging and minimum durations -------------------------------------------------------------------


def test_overlapping_windows_are_owned_around_their_centres():
    # Window 3 s, hop 1 s, starts 0..7 in a 10-s file: centres 1.5..8.5, so the edges lie at
    # 0 | 2, 3, 4, 5, 6, 7, 8 | 10 (halfway between centres; the first and last reach the file's ends).
    policy = DecisionPolicy(window_seconds=3, hop_seconds=1, smoothing="none")
    labels = ["music"] * 3 + ["speech"] * 4 + ["noise"]
    table = merge_segments(np.arange(8.0), labels, np.full(8, 0.5), duration_s=10, policy=policy)
    assert rows(table) == [(0, 4, "music"), (4, 8, "speech"), (8, 10, "noise")]


def test_back_to_back_windows_and_a_trailing_partial_window():
    # Predictor layout with a 5-s window: starts 0, 5, 10 in a 12.6-s file (the last window wrapped).
    policy = DecisionPolicy(window_seconds=5, smoothing="none")
    table = merge_segments([0.0, 5.0, 10.0], ["music", "speech", "speech"], [0.9, 0.6, 0.8], duration_s=12.6,
                           policy=policy)
    assert rows(table) == [(0, 5, "music"), (5, 12.6, "speech")]
    # Speech's confidence weights its windows by the time they own: (0.6 * 5 + 0.8 * 2.6) / 7.6.
    assert table["confidence"].tolist() == pytest.approx([0.9, (0.6 * 5 + 0.8 * 2.6) / 7.6])


def test_min_segment_merges_into_the_more_confident_neighbour():
    policy = DecisionPolicy(window_seconds=1, smoothing="none", min_segment_seconds=1.5)
    table = merge_segments(np.arange(6.0), ["music", "music", "speech", "noise", "noise", "noise"],
                           [0.9, 0.9, 0.5, 0.6, 0.6, 0.6], duration_s=6, policy=policy)
    assert rows(table) == [(0, 3, "music"), (3, 6, "noise")]
    assert table["confidence"].tolist() == pytest.approx([0.9, 0.6])  # absorbed time does not vote


def test_min_segment_shortest_first_and_rejoining_neighbours():
    # speech (1 s) and noise (1 s) are both short; speech comes first (tie on duration), goes to
    # music (0.9 > noise 0.8): music 0-4. Noise then sits between music 0-4 and music 5-8, both
    # 0.9: the longer left one takes it and meets the right one -> one segment.
    policy = DecisionPolicy(window_seconds=1, smoothing="none", min_segment_seconds=1.5)
    labels = ["music"] * 3 + ["speech", "noise"] + ["music"] * 3
    table = merge_segments(np.arange(8.0), labels, [0.9, 0.9, 0.9, 0.7, 0.8, 0.9, 0.9, 0.9], duration_s=8,
                           policy=policy)
    assert rows(table) == [(0, 8, "music")]
    assert table["confidence"][0] == pytest.approx(0.9)


def test_min_segment_keeps_sound_between_silences():
    P = probs(M, [np.nan] * 3, S, [np.nan] * 3, M)
    levels = [LOUD, QUIET, LOUD, QUIET, LOUD]
    table = seg(P, levels, smoothing="none", min_segment_seconds=3)
    assert table["label"].tolist() == ["music", "silence", "speech", "silence", "music"]


def test_min_gap_absorbs_short_silences():
    # 0.5-s windows. A 0.5-s pause inside music disappears; a 0.5-s pause between music and
    # speech is split at its middle; a 1.5-s pause stays; a short leading pause goes to its neighbour.
    nan = [np.nan] * 3
    P = probs(nan, M, M, nan, M, M, nan, S, S, nan, nan, nan, S)
    levels = [QUIET, LOUD, LOUD, QUIET, LOUD, LOUD, QUIET, LOUD, LOUD, QUIET, QUIET, QUIET, LOUD]
    plain = seg(P, levels, window_seconds=0.5, smoothing="none")
    assert len(plain) == 8
    table = seg(P, levels, window_seconds=0.5, smoothing="none", min_gap_seconds=1.0)
    assert rows(table) == [(0, 3.25, "music"), (3.25, 4.5, "speech"), (4.5, 6, "silence"), (6, 6.5, "speech")]


def test_all_silence_stays_silence():
    P = np.full((4, 3), np.nan)
    table = seg(P, [QUIET] * 4, min_gap_seconds=10, min_segment_seconds=10)
    assert rows(table) == [(0, 4, "silence")] and table["confidence"][0] == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_segments_tile_the_file_for_any_policy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    window = float(rng.choice([0.5, 1.0, 5.0]))
    hop = window / float(rng.choice([1, 2, 4]))
    smoothing = str(rng.choice(["none", "mean", "median", "viterbi"]))
    policy = DecisionPolicy(window_seconds=window, hop_seconds=hop, smoothing=smoothing,
                            smoothing_windows=int(rng.integers(2, 6)), switch_penalty=float(rng.uniform(0, 5)),
                            min_segment_seconds=float(rng.uniform(0, 3 * window)),
                            min_gap_seconds=float(rng.uniform(0, 3 * window)),
                            class_thresholds={"noise": 0.5})
    P = rng.dirichlet(np.ones(3) * 0.5, size=n)
    levels = np.where(rng.random(n) < 0.3, QUIET, LOUD)
    duration = (n - 1) * hop + window * float(rng.uniform(0.5, 1.0))
    table = segment_probabilities(P, levels, policy=policy, class_names=CLASSES, duration_s=duration)
    check_segments(table, duration_s=duration, tiled=True)
    assert table["start"].iloc[0] == 0.0 and table["end"].iloc[-1] == duration
    assert (table["label"].to_numpy()[1:] != table["label"].to_numpy()[:-1]).all()  # runs are joined
    assert table["confidence"].between(0, 1).all()
    assert list(table.columns) == ["start", "end", "label", "confidence"]


def test_segmenter_reads_a_predictor_window_table():
    windows = pd.DataFrame({"path": "a.wav", "start_s": [0.0, 5.0, 10.0], "end_s": [5.0, 10.0, 12.6],
                            "p_music": [0.9, 0.1, 0.1], "p_speech": [0.05, 0.8, 0.8], "p_noise": [0.05, 0.1, 0.1],
                            "level_dbfs": [-20.0, -20.0, -75.0]})
    segmenter = Segmenter(CLASSES, policy=DecisionPolicy(window_seconds=5, smoothing="none"))
    assert rows(segmenter.segment_table(windows)) == [(0, 5, "music"), (5, 10, "speech"), (10, 12.6, "silence")]
    # The table's last window may stop short of the file: duration_s says where the file ends.
    assert rows(segmenter.segment_table(windows, duration_s=14.0))[-1] == (10, 14, "silence")
    labels, _ = segmenter.window_labels(windows[["p_music", "p_speech", "p_noise"]].to_numpy(), windows["level_dbfs"])
    assert labels.tolist() == ["music", "speech", "silence"]
    with pytest.raises(ValueError, match="p_noise"):
        segmenter.segment_table(windows.drop(columns="p_noise"))


def test_policy_is_frozen_hashable_picklable_and_copies_thresholds():
    thresholds = {"music": 0.5}
    policy = DecisionPolicy(class_thresholds=thresholds)
    thresholds["music"] = 0.9
    assert policy.class_thresholds == {"music": 0.5}
    assert policy.hop_seconds == policy.window_seconds == 5.0
    with pytest.raises(AttributeError):
        policy.smoothing = "none"
    hash(policy)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert policy.to_dict()["class_thresholds"] == {"music": 0.5}


@pytest.mark.parametrize("kwargs, shown", [
    ({"window_seconds": 0}, "window_seconds=0.0"),
    ({"window_seconds": float("nan")}, "window_seconds=nan"),
    ({"hop_seconds": 6.0}, "hop_seconds=6.0"),
    ({"hop_seconds": -1}, "hop_seconds=-1.0"),
    ({"smoothing": "gaussian"}, "'gaussian'"),
    ({"smoothing_windows": 0}, "smoothing_windows=0"),
    ({"smoothing_windows": 2.5}, "smoothing_windows=2.5"),
    ({"switch_penalty": -1}, "switch_penalty=-1.0"),
    ({"min_segment_seconds": float("inf")}, "min_segment_seconds=inf"),
    ({"min_gap_seconds": -0.5}, "min_gap_seconds=-0.5"),
    ({"class_thresholds": {"music": 1.5}}, "1.5"),
    ({"silence_label": "no sound"}, "'no sound'"),
    ({"unknown_label": "silence"}, "'silence'"),
])
def test_bad_policy_settings_raise_with_the_value(kwargs, shown):
    with pytest.raises(ValueError) as info:
        DecisionPolicy(**kwargs)
    assert shown in str(info.value)


def test_degenerate_policies_warn():
    with pytest.warns(UserWarning, match="does not smooth"):
        DecisionPolicy(smoothing="median", smoothing_windows=1)
    with pytest.warns(UserWarning, match="plain argmax"):
        DecisionPolicy(smoothing="viterbi", switch_penalty=0)


def test_bad_inputs_raise_with_the_value():
    policy = DecisionPolicy(window_seconds=1)
    with pytest.raises(ValueError, match="duration_s=0.0"):
        merge_segments([0.0], ["music"], [1.0], duration_s=0, policy=policy)
    with pytest.raises(ValueError, match=r"\[0.0, 2.0, 1.0\]"):
        merge_segments([0.0, 2.0, 1.0], ["a", "b", "c"], [1, 1, 1], duration_s=5, policy=policy)
    with pytest.raises(ValueError, match="window start 5.0"):
        merge_segments([0.0, 5.0], ["a", "b"], [1, 1], duration_s=5, policy=policy)
    with pytest.raises(ValueError, match="2 classes but class_names has 3"):
        decide_windows(np.full((2, 2), 0.5), None, CLASSES, policy)
    with pytest.raises(ValueError, match="window 1 are not finite"):
        decide_windows(probs(M, [np.nan] * 3), None, CLASSES, policy)
    with pytest.raises(ValueError, match="'silence' collides"):
        Segmenter(["music", "silence"])
    with pytest.raises(ValueError, match="levels_db has 1 values for 2 windows"):
        segment_probabilities(probs(M, M), [LOUD], policy=policy, class_names=CLASSES, duration_s=2)
    with pytest.raises(ValueError, match="end 1.0 <= start 2.0"):
        check_segments(pd.DataFrame({"start": [2.0], "end": [1.0], "label": ["a"]}))


def test_smoothing_helps_on_a_simulated_long_recording():
    # A 210-s recording of known segments (boundaries off the 5-s window grid), classified by a
    # simulated model: each 5-s window (hop 5 s) gets its centre's class, or a random one 15 % of
    # the time; silent windows are gated. Smoothing must cut the flicker without losing the content.
    labels = ["music", "silence", "speech", "noise", "speech", "silence", "music", "noise"]
    ends = np.cumsum([40, 6, 35, 25, 50, 4, 30, 20]).astype(float)
    reference = pd.DataFrame({"start": np.r_[0.0, ends[:-1]], "end": ends, "label": labels})
    rng = np.random.default_rng(0)
    starts = np.arange(0.0, ends[-1] - 2.5, 5.0)
    truth = np.array(labels)[np.searchsorted(ends, starts + 2.5, side="right")]
    P = np.full((starts.size, 3), 0.1)
    levels = np.where(truth == "silence", QUIET, LOUD)
    for i, label in enumerate(truth):
        if label != "silence":
            P[i, CLASSES.index(label) if rng.random() > 0.15 else rng.integers(3)] = 0.8
    scores = {}
    for smoothing in ("none", "median", "viterbi"):
        policy = DecisionPolicy(window_seconds=5, smoothing=smoothing, switch_penalty=4, min_segment_seconds=3)
        predicted = segment_probabilities(P, levels, policy=policy, class_names=CLASSES, duration_s=ends[-1])
        check_segments(predicted, duration_s=ends[-1], tiled=True)
        scores[smoothing] = evaluate_segments(reference, predicted, tolerance_s=2.5)
    assert scores["none"]["segment_count_ratio"] > 1.5  # flicker: more than twice the true segments
    for smoothing in ("median", "viterbi"):
        assert scores[smoothing]["frame_accuracy"] > max(0.9, scores["none"]["frame_accuracy"])
        assert scores[smoothing]["segment_count_ratio"] <= 1.5
        assert scores[smoothing]["median_boundary_error_s"] <= 2.5  # half a window


# -- formats ----------------------------------------------------------------------------------------


@pytest.fixture
def table():
    # Tiles 0..10 s; confidences with many digits so the csv/jsonl round trip must be exact.
    return pd.DataFrame({"start": [0.0, 2.5, 4.125, 7.0], "end": [2.5, 4.125, 7.0, 10.0],
                         "label": ["music", "silence", "speech", "noise"],
                         "confidence": [0.9123456789012345, 1.0, 2 / 3, 0.55]})


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats_round_trip(tmp_path, table, fmt):
    path = write_segments(table, tmp_path / f"take one{SUFFIXES[fmt]}", tier_name="music-speech-noise",
                          file_id=rttm_file_id("take one.wav"), duration_s=10.0)
    back = read_segments(path, duration_s=10.0) if fmt == "rttm" else read_segments(path)
    assert list(back.columns)[:4] == ["start", "end", "label", "confidence"]
    assert back["label"].tolist() == table["label"].tolist()
    tolerance = {"audacity": 1e-6, "rttm": 1e-3}.get(fmt, 0)
    np.testing.assert_allclose(back[["start", "end"]].to_numpy(), table[["start", "end"]].to_numpy(), atol=tolerance, rtol=0)
    if fmt in ("csv", "jsonl"):
        pd.testing.assert_frame_equal(back, table)  # full precision, dtypes included
    else:
        assert back["confidence"].isna().all()  # the format keeps none
    check_segments(back, duration_s=10.0, tiled=True)


def test_audacity_lines_are_what_audacity_writes(table):
    text = format_segments(table, "audacity")
    assert text.splitlines()[:2] == ["0.000000\t2.500000\tmusic", "2.500000\t4.125000\tsilence"]
    # Audacity's spectral-label lines (starting with a backslash) are skipped on reading.
    spectral = "1.000000\t2.000000\tbird\n\\\t200.000000\t4000.000000\n"
    assert rows(parse_segments(spectral, "audacity")) == [(1, 2, "bird")]
    with pytest.raises(ValueError, match="'a\\\\tb'"):
        format_segments(pd.DataFrame({"start": [0.0], "end": [1.0], "label": ["a\tb"]}), "audacity")


def test_rttm_fields_file_ids_and_silence(table):
    text = format_segments(table, "rttm", file_id="take_one")
    lines = [line.split(" ") for line in text.splitlines()]
    assert len(lines) == 3  # silence is the absence of activity in RTTM
    assert lines[1] == ["SPEAKER", "take_one", "1", "4.125", "2.875", "<NA>", "<NA>", "speech", "<NA>", "<NA>"]
    assert len(format_segments(table, "rttm", include_silence=True).splitlines()) == 4
    assert rttm_file_id("/data/my  radio show.wav") == "my_radio_show"
    assert rttm_file_id("take.2.flac") == "take.2"
    assert rttm_file_id("notes.v1") == "notes.v1"
    with pytest.raises(ValueError, match="'my talk'"):
        format_segments(table, "rttm", file_id="my talk")
    with pytest.raises(ValueError, match="'loud music'"):
        format_segments(pd.DataFrame({"start": [0.0], "end": [1.0], "label": ["loud music"]}), "rttm")
    # Several files in one RTTM: choose one; lines of other record types are ignored.
    both = ";; comment\nSPKR-INFO a 1 <NA> <NA> <NA> unknown music <NA>\n" + text + text.replace("take_one", "other")
    with pytest.raises(ValueError, match="other"):
        parse_segments(both, "rttm")
    assert len(parse_segments(both, "rttm", file_id="other")) == 3


def test_rttm_rounding_keeps_neighbours_touching():
    # Boundaries rounded to ms first, durations from them: 0.0004 + ... never leaves a gap of 1 ms.
    t = pd.DataFrame({"start": [0.0, 1.2344, 2.6665], "end": [1.2344, 2.6665, 3.0], "label": ["a", "b", "c"]})
    back = parse_segments(format_segments(t, "rttm"), "rttm")
    check_segments(back, tiled=True, duration_s=3.0)
    assert rows(back) == [(0, 1.234, "a"), (1.234, 2.666, "b"), (2.666, 3, "c")]  # round-half-even at 2.6665 ms


def test_textgrid_by_hand(table):
    text = format_segments(table, "textgrid", tier_name='model "A"', duration_s=12.0)
    lines = text.splitlines()
    assert lines[:3] == ['File type = "ooTextFile"', 'Object class = "TextGrid"', ""]
    assert "xmax = 12 " in lines and "tiers? <exists> " in lines and "size = 1 " in lines
    assert '        name = "model ""A""" ' in lines  # Praat doubles quotes inside strings
    assert "        intervals: size = 5 " in lines  # four segments and the empty 10-12 s interval
    assert lines[-3:] == ["            xmin = 10 ", "            xmax = 12 ", '            text = "" ']
    assert rows(parse_segments(text, "textgrid")) == rows(table)  # the empty interval is a gap
    with pytest.raises(ValueError, match="'words'"):
        parse_segments(text, "textgrid", tier_name="words")


def test_textgrid_reader_takes_praats_short_format_and_utf16(tmp_path):
    short = ('File type = "ooTextFile short"\n"TextGrid"\n\n0\n3\n<exists>\n2\n'
             '"TextTier"\n"clicks"\n0\n3\n1\n1.5\n"click"\n'
             '"IntervalTier"\n"labels"\n0\n3\n2\n0\n1\n"música [1]"\n1\n3\n""\n')
    assert rows(parse_segments(short, "textgrid")) == [(0, 1, "música [1]")]
    path = tmp_path / "praat.TextGrid"
    path.write_text(short, encoding="utf-16")  # what Praat saves when a label is not ASCII
    assert rows(read_segments(path)) == [(0, 1, "música [1]")]


def _textgrid_file(tmp_path, table):
    return write_segments(table, tmp_path / "a.TextGrid", tier_name="music-speech-noise", duration_s=10.0)


def test_textgrid_opens_in_praatio(tmp_path, table):
    textgrid = pytest.importorskip("praatio.textgrid")
    tg = textgrid.openTextgrid(str(_textgrid_file(tmp_path, table)), includeEmptyIntervals=True)
    tier = tg.getTier("music-speech-noise")
    assert (tier.minTimestamp, tier.maxTimestamp) == (0, 10)
    assert [(e.start, e.end, e.label) for e in tier.entries] == rows(table)


def test_textgrid_opens_in_textgrid_package(tmp_path, table):
    textgrid = pytest.importorskip("textgrid")
    tg = textgrid.TextGrid.fromFile(str(_textgrid_file(tmp_path, table)))
    assert tg[0].name == "music-speech-noise" and tg.maxTime == 10
    assert [(i.minTime, i.maxTime, i.mark) for i in tg[0]] == rows(table)


def test_format_from_suffix():
    assert format_for_path("out/a.TextGrid") == format_for_path("a.textgrid") == "textgrid"
    assert format_for_path("a.lab") == format_for_path("a.txt") == "audacity"
    assert format_for_path("a.RTTM") == "rttm"
    with pytest.raises(ValueError, match="'.xlsx'"):
        format_for_path("a.xlsx")
    with pytest.raises(ValueError, match="'srt'"):
        format_segments(pd.DataFrame({"start": [0.0], "end": [1.0], "label": ["a"]}), "srt")


def test_labels_that_look_like_missing_values_stay_text(tmp_path):
    t = pd.DataFrame({"start": [0.0, 1.0], "end": [1.0, 2.0], "label": ["NA", "null"], "confidence": [np.nan, 0.5]})
    for fmt in ("csv", "jsonl"):
        back = read_segments(write_segments(t, tmp_path / f"x{SUFFIXES[fmt]}"))
        assert back["label"].tolist() == ["NA", "null"]
        assert math.isnan(back["confidence"][0]) and back["confidence"][1] == 0.5


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, table, monkeypatch):
    import audioclf_lib.segments.formats as formats

    path = tmp_path / "out" / "a.csv"  # the folder is created
    write_segments(table, path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(formats.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_segments(table.iloc[:1], path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.csv"]  # no temporary file left
    monkeypatch.undo()
    # The mode follows the umask like a plain open() (a temporary file API would give 0600).
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert stat.S_IMODE(atomic_write_text(tmp_path / "b.txt", "y").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert not list(tmp_path.glob(".*.tmp"))


# -- evaluation -------------------------------------------------------------------------------------


def frame(*segments):
    return pd.DataFrame(segments, columns=["start", "end", "label"])


REF = frame((0, 4, "music"), (4, 6, "silence"), (6, 10, "speech"))
PRED = frame((0, 4.5, "music"), (4.5, 6, "silence"), (6, 9, "speech"), (9, 10, "noise"))


def test_evaluation_hand_checked_example():
    scores = evaluate_segments(REF, PRED, tolerance_s=0.5)
    # 10-ms grid, 1000 frames. Wrong: 4.0-4.5 (music for silence, 50 frames) and 9-10 (noise for
    # speech, 100 frames) -> 850 / 1000.
    assert scores["n_frames"] == 1000
    assert scores["frame_accuracy"] == pytest.approx(0.85)
    # Boundaries: reference {4, 6}, predicted {4.5, 6, 9}. 4 <-> 4.5 (0.5 s, inclusive) and 6 <-> 6:
    # 2 hits; P = 2/3, R = 2/2, F1 = 2 (2/3)(1) / (5/3) = 0.8.
    assert (scores["n_ref_boundaries"], scores["n_pred_boundaries"], scores["n_matched_boundaries"]) == (2, 3, 2)
    assert scores["boundary_precision"] == pytest.approx(2 / 3)
    assert scores["boundary_recall"] == 1.0
    assert scores["boundary_f1"] == pytest.approx(0.8)
    # Nearest predicted boundary per reference one: 4 -> 0.5, 6 -> 0; median 0.25 s.
    assert scores["median_boundary_error_s"] == pytest.approx(0.25)
    assert scores["segment_count_ratio"] == pytest.approx(4 / 3)
    # With 0.4 s tolerance 4 <-> 4.5 misses: P = 1/3, R = 1/2, F1 = 2 (1/6) / (5/6) = 0.4.
    assert evaluate_segments(REF, PRED, tolerance_s=0.4)["boundary_f1"] == pytest.approx(0.4)


def test_evaluation_per_class_by_hand():
    per = evaluate_segments(REF, PRED, tolerance_s=0.5)["per_class"]
    # music frames: reference 400, predicted 450, both 400 -> P = 8/9, R = 1.
    assert per["music"]["frame_precision"] == pytest.approx(400 / 450)
    assert per["music"]["frame_recall"] == 1.0
    # speech: reference boundaries {6} (its end at 10 is the file's end), predicted {6, 9}: P 1/2, R 1, F1 2/3.
    assert (per["speech"]["boundary_precision"], per["speech"]["boundary_recall"]) == (0.5, 1.0)
    assert per["speech"]["boundary_f1"] == pytest.approx(2 / 3)
    assert per["speech"]["frame_recall"] == pytest.approx(300 / 400)
    # noise is not in the reference: its one boundary (9) is false, nothing to recall -> F1 0.
    assert (per["noise"]["boundary_precision"], per["noise"]["boundary_recall"], per["noise"]["boundary_f1"]) == (0, 1, 0)
    assert per["noise"]["frame_precision"] == 0.0
    # silence: reference {4, 6}, predicted {4.5, 6}: both matched within 0.5 s.
    assert per["silence"]["boundary_f1"] == 1.0


def test_each_boundary_is_matched_at_most_once():
    # Two predictions around one reference boundary: one hit, one false alarm.
    assert boundary_scores(np.array([5.0]), np.array([4.8, 5.2]), tolerance_s=0.5) == {
        "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "n_ref": 1, "n_pred": 2, "n_matched": 1}
    # Nearest-first pairing would take 1.5 <-> 1.4 (0.1 s) and leave 1.0 and 1.9 unmatched (0.9 s apart);
    # the best one-to-one matching pairs 1.0 <-> 1.4 and 1.5 <-> 1.9 (0.4 s each): two hits.
    pairs = match_boundaries(np.array([1.0, 1.5]), np.array([1.4, 1.9]), tolerance_s=0.45)
    assert pairs.tolist() == [[0, 0], [1, 1]]
    with pytest.raises(ValueError, match="tolerance_s=-1.0"):
        match_boundaries(np.array([1.0]), np.array([1.0]), tolerance_s=-1)


def test_evaluation_edge_cases():
    one = frame((0, 10, "music"))
    scores = evaluate_segments(one, one)
    assert (scores["frame_accuracy"], scores["boundary_f1"], scores["segment_count_ratio"]) == (1.0, 1.0, 1.0)
    assert math.isnan(scores["median_boundary_error_s"])  # no reference boundary to miss
    assert evaluate_segments(REF, one)["median_boundary_error_s"] == math.inf
    # A prediction split into two music rows is still one segment.
    assert evaluate_segments(one, frame((0, 3, "music"), (3, 10, "music")))["n_pred_segments"] == 1
    # Frames the reference leaves out are not scored; ones the prediction leaves out are errors.
    partial = evaluate_segments(frame((0, 5, "music")), frame((0, 4, "music")), duration_s=10)
    assert (partial["n_frames"], partial["frame_accuracy"]) == (500, pytest.approx(0.8))
    # A configurable grid: 0.5-s frames over 10 s.
    assert evaluate_segments(REF, PRED, resolution_s=0.5)["n_frames"] == 20
    with pytest.raises(ValueError, match="resolution_s=0.0"):
        evaluate_segments(REF, PRED, resolution_s=0)
    with pytest.raises(ValueError, match="empty"):
        evaluate_segments(frame(), PRED)


def test_frame_labels_boundaries_and_normalisation_by_hand():
    t = frame((0, 1, "a"), (1, 2, "a"), (2.5, 3, "b"))
    assert rows(normalize_segments(t)) == [(0, 2, "a"), (2.5, 3, "b")]
    labels = frame_labels(t, duration_s=3, resolution_s=0.5)  # centres 0.25, 0.75, ..., 2.75
    assert labels.tolist() == ["a", "a", "a", "a", None, "b"]
    assert segment_boundaries(t, duration_s=3).tolist() == [2.0, 2.5]  # coverage stops and starts
    assert segment_boundaries(t, duration_s=3, label="a").tolist() == [2.0]


# -- coarse-to-fine scoring (scoring.coarse_to_fine, DecisionPolicy.coarse_seconds) ---------------------------------


def _scorer(P):
    """score(indices) over the rows of P, recording every call."""
    calls = []

    def score(indices):
        calls.append(np.asarray(indices).tolist())
        return P[indices]

    return score, calls


def test_coarse_to_fine_scores_only_the_gaps_where_the_class_changes():
    from audioclf_lib.scoring import coarse_to_fine

    P = np.array([[0.95, 0.03, 0.02]] * 8 + [[0.04, 0.94, 0.02]] * 5, np.float32)
    P[2] = [0.5, 0.4, 0.1]  # inside a confident music gap: never asked for, interpolated instead
    score, calls = _scorer(P)
    out, scored = coarse_to_fine(len(P), score, every=4, confidence=0.9)
    assert calls == [[0, 4, 8, 12], [5, 6, 7]]  # the music -> speech gap is scored hop by hop
    assert scored.tolist() == [True, False, False, False, True, True, True, True, True, False, False, False, True]
    np.testing.assert_array_equal(out[scored], P[scored])
    np.testing.assert_allclose(out[2], (P[0] + P[4]) / 2, atol=1e-7)
    np.testing.assert_allclose(out[9], 0.75 * P[8] + 0.25 * P[12], atol=1e-7)


def test_coarse_to_fine_scores_doubtful_gaps_and_always_the_last_window():
    from audioclf_lib.scoring import coarse_to_fine

    P = np.array([[0.95, 0.05]] * 10, np.float32)
    P[4] = [0.85, 0.15]  # same class, but below the confidence: both gaps around it are scored
    score, calls = _scorer(P)
    out, scored = coarse_to_fine(len(P), score, every=4, confidence=0.9)
    assert calls == [[0, 4, 8, 9], [1, 2, 3, 5, 6, 7]]
    assert scored.all()
    np.testing.assert_array_equal(out, P)
    score, calls = _scorer(P)
    out, scored = coarse_to_fine(len(P), score, every=4, confidence=0.8)
    assert calls == [[0, 4, 8, 9]] and scored.sum() == 4


def test_coarse_to_fine_with_every_one_is_a_single_call_over_every_window():
    from audioclf_lib.scoring import coarse_to_fine

    P = np.random.default_rng(0).dirichlet(np.ones(3), size=7).astype(np.float32)
    score, calls = _scorer(P)
    out, scored = coarse_to_fine(len(P), score, every=1, confidence=0.9)
    assert calls == [list(range(7))] and scored.all()
    np.testing.assert_array_equal(out, P)


def test_policy_coarse_settings_are_checked_and_counted_in_hops():
    policy = DecisionPolicy(window_seconds=5.0, hop_seconds=0.512, coarse_seconds=2.048)
    assert policy.coarse_every() == 4
    assert DecisionPolicy(window_seconds=5.0, hop_seconds=0.5).coarse_every() == 1  # None: every window
    assert DecisionPolicy(window_seconds=5.0, hop_seconds=3.0, coarse_seconds=2.0).coarse_every() == 1
    with pytest.raises(ValueError, match="longer than window_seconds"):
        DecisionPolicy(window_seconds=5.0, hop_seconds=0.5, coarse_seconds=6.0)
    with pytest.raises(ValueError, match="coarse_confidence"):
        DecisionPolicy(window_seconds=5.0, coarse_seconds=2.0, coarse_confidence=1.5)
    with pytest.raises(ValueError, match="coarse_seconds"):
        DecisionPolicy(window_seconds=5.0, coarse_seconds=0.0)
