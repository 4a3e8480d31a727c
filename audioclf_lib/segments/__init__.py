"""One decision policy from window probabilities to merged, labelled segments.

Notebook: 05_live_demo.ipynb

The model gives one probability vector per window (every ``hop_seconds``, ``window_seconds``
long). People want segments (``start, end, label, confidence``) that tile the file, with a
``silence`` label from the level gate, smoothing so that one odd window does not split a
segment, and no flicker shorter than a minimum duration. Everything here is pure numpy/pandas,
so the command line, evaluation and the live loop decide in exactly the same way::

    P (n_windows, n_classes) --smooth--> argmax / Viterbi --thresholds--> window labels
      levels_db (n_windows,) --gate-->  silence (never smoothed across)
    window labels --centres--> contiguous pieces --runs--> segments --min_gap, min_segment--> table

* :class:`DecisionPolicy` holds the knobs (frozen, validated on construction).
* :func:`smooth_probabilities`, :func:`viterbi_labels`, :func:`decide_windows` decide per window.
* :func:`merge_segments` turns window decisions into a table that tiles ``[0, duration_s)``.
* :func:`segment_probabilities` / :class:`Segmenter` are the one entry point for callers.

The package: :mod:`~audioclf_lib.segments.policy` (the knobs and per-window decisions),
:mod:`~audioclf_lib.segments.merge` (segments and the entry point), :mod:`~audioclf_lib.segments.formats`
(segment files) and :mod:`~audioclf_lib.segments.evaluate` (scoring against a reference).
"""
from .merge import Segmenter, check_segments, merge_segments, segment_probabilities
from .policy import (SEGMENT_COLUMNS, SMOOTHINGS, DecisionPolicy, decide_windows, default_policy, frame_probabilities,
                     smooth_probabilities, viterbi_labels)

__all__ = ["SMOOTHINGS", "SEGMENT_COLUMNS", "DecisionPolicy", "smooth_probabilities", "viterbi_labels", "decide_windows",
           "merge_segments", "check_segments", "segment_probabilities", "frame_probabilities", "default_policy",
           "Segmenter"]
