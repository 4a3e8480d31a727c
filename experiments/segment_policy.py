"""Choose the decision policy's smoothing and minimum durations on validation recordings, then score it on test ones.

    python experiments/segment_policy.py [--model music-speech-noise] [--val-recordings 12] [--test-recordings 6]

Long recordings are built as ``make bench`` builds them (:func:`~audioclf_lib.segments.evaluate.concatenated_recording`:
blocks of 15-40 s of one class, stretches of silence between some), from ``data/starter``'s **validation** clips for
the choice (seeds 200, 201, ...) and its **test** clips for the report (seeds 100-105: the recordings ``make bench``
scores). Each recording's windows are scored once (window and hop stay the default's 5 s / 0.512 s); every policy of the
grid then runs over the same window probabilities, so the sweep costs seconds.

A second set of validation and test recordings has short blocks (4-12 s), so that the choice cannot simply learn that
the bench's blocks last at least 15 s. The choice: among the policies whose predicted segments are at most 1.5x the
true number and whose median boundary error is at most 0.5 s on the (long-block) validation recordings (the targets
of ``make bench``), the one with the best frame accuracy averaged over long- and short-block validation recordings;
ties go to the simpler policy (the grid's order). The chosen policy, its validation scores and its test scores, with
the current default's and the 5-frame median's (the default before) beside them, go to ``experiments/results/segment_policy.json``; every policy's validation scores
to ``segment_policy.csv`` beside it.

Then, for the chosen policy, how coarse the scoring may be (``DecisionPolicy.coarse_seconds`` and ``coarse_confidence``,
:func:`~audioclf_lib.scoring.coarse_to_fine`): each setting of the grid answers from the same exhaustive window
probabilities (:class:`ScoredWindows`), so it only costs decoding. The rule: of the settings that still meet the two
targets on the long-block validation recordings and lose at most 0.1 point of frame accuracy (long and short
validation averaged) against scoring every window, the one that scores the fewest validation windows (ties: the higher
confidence).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audioclf_lib.config import REPO_ROOT, data_dir
from audioclf_lib.predict import Predictor
from audioclf_lib.scoring import PredictorBase
from audioclf_lib.segments import DecisionPolicy, default_policy
from audioclf_lib.segments.evaluate import concatenated_recording, evaluate_segments, split_clips

RESULTS = REPO_ROOT / "experiments" / "results" / "segment_policy.json"
SR = 16_000
#: Block lengths of the recordings: ``make bench``'s (long) and a harder set of short blocks, so that the choice does
#: not simply learn that the bench's blocks are never shorter than 15 s.
LONG, SHORT = (15.0, 40.0), (4.0, 12.0)
#: The default policy until this experiment chose another (2026-12-01): a 5-frame median, pauses under 1 s absorbed.
MEDIAN = DecisionPolicy(window_seconds=5.0, hop_seconds=0.5, smoothing="median", smoothing_windows=5,
                        min_gap_seconds=1.0)


#: Coarse-to-fine settings tried for the chosen policy: seconds between the windows scored first x the confidence that
#: lets a gap between two of them go unscored.
COARSE = [(seconds, confidence) for seconds in (1.024, 1.536, 2.048, 3.072, 4.096) for confidence in (0.8, 0.9, 0.95, 0.99)]


class ScoredWindows(PredictorBase):
    """A predictor that answers from one exhaustive scoring of a recording, and counts the windows it was asked for."""

    def __init__(self, predictor: Predictor, windows: pd.DataFrame):
        self.config, self.class_names = predictor.config, predictor.class_names
        self.silence_dbfs, self.name, self.model_name = predictor.silence_dbfs, predictor.name, predictor.model_name
        sr = self.config.sample_rate
        probs = windows[[f"p_{c}" for c in self.class_names]].to_numpy(np.float32)
        self.row = dict(zip(np.round(windows["start_s"].to_numpy() * sr).astype(np.int64).tolist(), probs))
        self.asked = 0

    def stretch_probabilities(self, audio, offset, starts, n):
        self.asked += len(starts)
        return np.stack([self.row[int(s)] for s in starts])


def coarse_scores(predictor: Predictor, policy: DecisionPolicy, scored: list) -> dict:
    """:func:`scores_of` with ``policy``'s coarse-to-fine scoring, answered from ``scored``'s exhaustive probabilities."""
    answered, asked, total = [], 0, 0
    for path, reference, exhaustive in scored:
        lookup = ScoredWindows(predictor, exhaustive.windows)
        answered.append((path, reference, lookup.window_scores(path, policy=policy, window_levels=False)))
        asked, total = asked + lookup.asked, total + len(exhaustive.windows)
    return {**scores_of(predictor, policy, answered), "windows_scored": asked / total}


def policy_grid(base: DecisionPolicy) -> list[DecisionPolicy]:
    """Smoothing methods and strengths crossed with minimum segment and gap durations (window and hop of ``base``)."""
    smoothings = [("none", 1, 0.0)]
    smoothings += [(method, k, 0.0) for method in ("median", "mean") for k in (3, 5, 7, 9, 13)]
    smoothings += [("viterbi", 1, penalty) for penalty in (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)]
    grid = []
    for (method, k, penalty), min_segment, min_gap in itertools.product(smoothings, (0.0, 1.0, 2.0, 3.0, 5.0),
                                                                     (0.0, 1.0, 2.0)):
        grid.append(replace(base, smoothing=method, smoothing_windows=k, switch_penalty=penalty,
                            min_segment_seconds=min_segment, min_gap_seconds=min_gap))
    return grid


def recordings(split: str, seeds: range, folder: Path, block_seconds: tuple[float, float]) -> list[tuple[Path, pd.DataFrame]]:
    clips = split_clips(data_dir(), split)
    out = []
    for seed in seeds:
        y, reference = concatenated_recording(clips, sr=SR, seed=seed, block_seconds=block_seconds)
        path = folder / f"{split}{seed}.wav"
        sf.write(path, y, SR)
        out.append((path, reference))
    return out


def scores_of(predictor: Predictor, policy: DecisionPolicy, scored: list) -> dict:
    per = [evaluate_segments(reference, predictor.segments_from_scores(window_scores, path=path, policy=policy).segments,
                             tolerance_s=0.5)
           for path, reference, window_scores in scored]
    return {"frame_accuracy": float(np.mean([s["frame_accuracy"] for s in per])),
            "median_boundary_error_s": float(np.median([s["median_boundary_error_s"] for s in per])),
            "boundary_f1": float(np.mean([s["boundary_f1"] for s in per])),
            "segment_count_ratio": float(sum(s["n_pred_segments"] for s in per) / sum(s["n_ref_segments"] for s in per)),
            "max_segment_count_ratio": float(max(s["segment_count_ratio"] for s in per)),
            "per_recording_frame_accuracy": [round(s["frame_accuracy"], 4) for s in per]}


def meets(s: dict) -> bool:
    return s["segment_count_ratio"] <= 1.5 and s["median_boundary_error_s"] <= 0.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="music-speech-noise")
    parser.add_argument("--val-recordings", type=int, default=12)
    parser.add_argument("--test-recordings", type=int, default=6)
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M")
    predictor = Predictor(args.model)
    base = replace(default_policy(predictor.config.window_seconds), coarse_seconds=None)  # every window scored
    median = replace(MEDIAN, hop_seconds=base.hop_seconds)
    tmp = tempfile.TemporaryDirectory()  # the recordings are decoded again by the coarse-to-fine stage
    folder = Path(tmp.name)
    sets = {"validation": recordings("val", range(200, 200 + args.val_recordings), folder, LONG),
            "validation_short": recordings("val", range(300, 300 + args.val_recordings), folder, SHORT),
            "test": recordings("test", range(100, 100 + args.test_recordings), folder, LONG),
            "test_short": recordings("test", range(400, 400 + args.test_recordings), folder, SHORT)}
    scored = {name: [(path, ref, predictor.window_scores(path, policy=base)) for path, ref in items]
              for name, items in sets.items()}
    grid = policy_grid(base)
    table = []
    for policy in grid:
        s = scores_of(predictor, policy, scored["validation"])
        short = scores_of(predictor, policy, scored["validation_short"])
        table.append({"frame_accuracy_both": (s["frame_accuracy"] + short["frame_accuracy"]) / 2,
                      "frame_accuracy_short": short["frame_accuracy"], "smoothing": policy.smoothing, "k": policy.smoothing_windows, "penalty": policy.switch_penalty,
                      "min_segment_s": policy.min_segment_seconds, "min_gap_s": policy.min_gap_seconds,
                      **{k: v for k, v in s.items() if k != "per_recording_frame_accuracy"}, "meets": meets(s)})
    table = pd.DataFrame(table)
    eligible = table[table["meets"]]
    best = int((eligible if len(eligible) else table)["frame_accuracy_both"].idxmax())
    chosen = grid[best]
    result = {"started": started, "model": args.model,
              "recordings": {name: len(items) for name, items in sets.items()},
              "minutes": {name: round(sum(r["end"].max() for _, r in items) / 60, 1) for name, items in sets.items()},
              "grid_size": len(grid), "n_meeting_targets_on_validation": int(table["meets"].sum()),
              "default": {"policy": base.to_dict(), **{name: scores_of(predictor, base, items)
                                                          for name, items in scored.items()}},
              "median_until_2026_12_01": {"policy": median.to_dict(), **{name: scores_of(predictor, median, items)
                                                                         for name, items in scored.items()}},
              "chosen": {"policy": chosen.to_dict(), **{name: scores_of(predictor, chosen, items)
                                                        for name, items in scored.items()}}}
    exhaustive = {"validation": result["chosen"]["validation"]["frame_accuracy"],
                  "validation_short": result["chosen"]["validation_short"]["frame_accuracy"]}
    coarse_rows = []
    for seconds, confidence in COARSE:
        policy = replace(chosen, coarse_seconds=seconds, coarse_confidence=confidence)
        s, short = (coarse_scores(predictor, policy, scored[name]) for name in ("validation", "validation_short"))
        loss = (exhaustive["validation"] + exhaustive["validation_short"] - s["frame_accuracy"] - short["frame_accuracy"]) / 2
        coarse_rows.append({"coarse_seconds": seconds, "coarse_confidence": confidence,
                            "windows_scored": (s["windows_scored"] + short["windows_scored"]) / 2,
                            "frame_accuracy_loss": loss, "frame_accuracy_both": (s["frame_accuracy"] + short["frame_accuracy"]) / 2,
                            **{k: v for k, v in s.items() if k not in ("per_recording_frame_accuracy", "windows_scored")},
                            "meets": meets(s) and loss <= 0.001})
    coarse = pd.DataFrame(coarse_rows)
    print(coarse.round(4).to_string(index=False))
    ok = coarse[coarse["meets"]].sort_values(["windows_scored", "coarse_confidence"], ascending=[True, False])
    if len(ok):
        pick = ok.iloc[0]
        fast = replace(chosen, coarse_seconds=float(pick["coarse_seconds"]), coarse_confidence=float(pick["coarse_confidence"]))
        result["chosen_coarse"] = {"policy": fast.to_dict(),
                                   **{name: coarse_scores(predictor, fast, items) for name, items in scored.items()}}
    result["coarse_grid"] = coarse.round(4).to_dict("records")
    tmp.cleanup()
    print(table.sort_values("frame_accuracy_both", ascending=False).head(25).to_string(index=False))
    print(json.dumps({k: v for k, v in result.items()}, indent=1))
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    table.round(4).to_csv(RESULTS.with_suffix(".csv"), index=False)  # every policy's validation scores
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
