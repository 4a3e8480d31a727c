"""Source-held-out evaluation: cross-validation whose folds are whole sources, and what it reports.

The test split of notebook 01 is grouped by original recording, so clips of one game soundtrack or
one voice pack sit on both sides of it. Users classify recordings from sources the corpus has never
seen; this module measures that. Every source is held out exactly once; each fold's model is trained
(and validated, for early stopping) on the other sources only, and predicts every clip of the
held-out ones. Everything reported is computed from those per-clip predictions:

- :func:`cv_metrics`: balanced accuracy, macro-F1 and per-class recall with a bootstrap interval,
  resampling clips (the default) or whole sources;
- :func:`per_source_table`: accuracy per held-out source, worst first;
- :func:`source_cv_result`: a committed run of ``experiments/source_cv.py``, as notebook 02 and the
  ``models`` command show it.

The runs themselves are ``experiments/source_cv.py`` (hours on a CPU, too long for a notebook);
notebook 02 shows their results first, ahead of its own in-source test split.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import ClipSet
from .metrics import classification_metrics

__all__ = [
    "source_cv_result",
    "source_cv_devices",
    "source_folds",
    "validation_sources",
    "cross_validate",
    "CrossValidation",
    "recipe_train_fn",
    "clip_predictions",
    "cv_metrics",
    "per_source_table",
    "per_fold_table",
]

#: ``train_fn(train, val, fold) -> model``: what :func:`cross_validate` calls once per fold. The result
#: needs ``model`` (an :class:`~audioclf_lib.models.AudioClassifier`), ``feature_config`` and
#: ``class_names``, as a :class:`~audioclf_lib.train.TrainedModel` or a loaded checkpoint has.
TrainFn = Callable[[ClipSet, ClipSet, int], object]


def _source_class_counts(table: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Clips per source (rows, sorted) and class (columns, in ``classes`` order)."""
    for column in ("source", "class"):
        if column not in table.columns:
            raise ValueError(f"the clip table needs a {column!r} column; it has {list(table.columns)}")
    table = table[table["class"].isin(classes)]
    missing = [c for c in classes if c not in set(table["class"])]
    if missing:
        raise ValueError(f"no clips of class(es) {missing}")
    return table.groupby(["source", "class"]).size().unstack(fill_value=0).reindex(columns=list(classes), fill_value=0)


def _primary_class(counts: pd.DataFrame) -> pd.Series:
    """Each source's class with the most clips (a source is assigned as a whole, by this class)."""
    return counts.idxmax(axis=1)


def source_folds(manifest: pd.DataFrame, n_folds: int = 5, *, seed: int = 0,
                 classes: Sequence[str] | None = None) -> pd.Series:
    """Assign whole sources to ``n_folds`` folds, balancing every class's clips across the folds.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Greedy, per class, largest source first: each source goes to the fold holding the fewest sources
    of its class, then the fewest clips of its class, then the fewest clips overall. So every fold
    gets a source of every class before any gets a second one (every fold can test every class when
    the class has at least ``n_folds`` sources), and clip counts then even out as the sources allow.

    Parameters
    ----------
    manifest : one row per clip with ``source`` and ``class`` columns (a manifest or ``ClipSet.table``).
    n_folds : number of folds, 2 <= n_folds <= number of sources.
    seed : breaks ties between equally large sources and between equally full folds; the balance
        rule fixes most of the partition, so other seeds mostly renumber the folds.
    classes : classes to use (rows of other classes are ignored); default: every class present.

    Returns
    -------
    folds : pd.Series, index ``source`` (sorted), values the fold in ``0 .. n_folds - 1``.

    Warns when a class has fewer sources than folds: some folds then test none of its clips.
    """
    classes = list(classes) if classes is not None else sorted(manifest["class"].unique())
    counts = _source_class_counts(manifest, classes)
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"n_folds={n_folds!r}; expected an integer >= 2")
    if n_folds > len(counts):
        raise ValueError(f"n_folds={n_folds} but only {len(counts)} sources: every fold must hold out one")
    primary = _primary_class(counts)
    for cls in classes:
        n = int((primary == cls).sum())
        if n < n_folds:
            warnings.warn(f"class {cls!r} has {n} source(s) for {n_folds} folds: {n_folds - n} fold(s) "
                          f"test none of its clips", stacklevel=2)
    rng = np.random.default_rng(seed)
    tie_rank = rng.permutation(n_folds)
    shuffled = counts.index[rng.permutation(len(counts))]
    k_of = {c: k for k, c in enumerate(classes)}
    # By class, then largest source first (LPT scheduling); the shuffle orders equally large sources.
    order = sorted(shuffled, key=lambda s: (k_of[primary[s]], -int(counts.loc[s, primary[s]])))
    n_sources = np.zeros((n_folds, len(classes)), dtype=np.int64)
    clips = np.zeros((n_folds, len(classes)), dtype=np.int64)
    fold_of: dict[str, int] = {}
    for source in order:
        k = k_of[primary[source]]
        fold = min(range(n_folds), key=lambda f: (n_sources[f, k], clips[f, k], clips[f].sum(), tie_rank[f]))
        fold_of[source] = fold
        n_sources[fold, k] += 1
        clips[fold] += counts.loc[source].to_numpy()
    return pd.Series(fold_of, name="fold", dtype=np.int64).rename_axis("source").sort_index()


def validation_sources(table: pd.DataFrame, *, fraction: float = 0.15, seed: int = 0,
                       classes: Sequence[str] | None = None) -> list[str]:
    """Whole sources set aside from the training sources for validation (early stopping, model choice).

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Per class, sources are added one at a time, each time the one that brings the class's validation
    clips closest to ``fraction`` of its clips (``seed`` breaks ties), while that brings them closer;
    at least one source is set aside, and one always stays for training. A class with a single source is not validated (warned).
    Validating on other sources than the training ones is the point: the score that picks the epoch
    then rewards what generalises to a new source, as the held-out fold will ask.

    Returns
    -------
    sources : sorted list of source names.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction}; expected a value in (0, 1)")
    classes = list(classes) if classes is not None else sorted(table["class"].unique())
    counts = _source_class_counts(table, classes)
    primary = _primary_class(counts)
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for cls in classes:
        sizes = counts.loc[primary == cls, cls]
        if len(sizes) < 2:
            warnings.warn(f"class {cls!r} has {len(sizes)} training source(s): none is left for validation",
                          stacklevel=2)
            continue
        left = list(sizes.index[rng.permutation(len(sizes))])
        target, taken = fraction * float(counts[cls].sum()), 0
        while len(left) > 1:
            best = min(left, key=lambda s: abs(taken + int(sizes[s]) - target))  # first of equals: shuffled order
            if taken and abs(taken + int(sizes[best]) - target) >= abs(taken - target):
                break  # one more source would move the share further from the target
            left.remove(best)
            chosen.append(best)
            taken += int(sizes[best])
    return sorted(chosen)


def _rows_of_sources(clips: ClipSet, sources) -> np.ndarray:
    return np.flatnonzero(clips.table["source"].isin(set(sources)).to_numpy())


def clip_predictions(model, feature_config, clips: ClipSet, class_names: Sequence[str]) -> pd.DataFrame:
    """One row per clip of ``class_names``: the clip-level decision of ``model``, as notebook 02 scores clips.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Fixed windows (:func:`~audioclf_lib.windows.eval_windows`) are scored by
    :func:`~audioclf_lib.train.evaluate_windows`; a clip's probabilities are the mean of its
    windows', and its decision their argmax.

    Returns
    -------
    predictions : columns ``clip`` (the clip's path), ``source``, ``class``, ``predicted``,
        ``p_<class>`` for each class (in [0, 1], summing to 1), ``p_true``, ``correct``, ``windows``.
    """
    from .features import FeatureExtractor
    from .train import evaluate_windows
    from .windows import eval_windows

    class_names = list(class_names)
    p_cols = [f"p_{c}" for c in class_names]
    windows, table = eval_windows(clips, class_names, feature_config.window_samples)
    if len(table) == 0:
        return pd.DataFrame(columns=["clip", "source", "class", "predicted", *p_cols, "p_true", "correct", "windows"])
    _, table = evaluate_windows(model, FeatureExtractor(feature_config), windows, table, class_names)
    per_clip = table.groupby("clip", sort=True).agg(clip=("path", "first"), source=("source", "first"),
                                                     label=("label", "first"), windows=("label", "size"),
                                                     **{p: (p, "mean") for p in p_cols})
    probs = per_clip[p_cols].to_numpy()
    label = per_clip["label"].to_numpy()
    out = per_clip[["clip", "source"]].reset_index(drop=True)
    out["class"] = [class_names[k] for k in label]
    out["predicted"] = [class_names[k] for k in probs.argmax(1)]
    for k, p in enumerate(p_cols):
        out[p] = probs[:, k]
    out["p_true"] = probs[np.arange(len(label)), label]
    out["correct"] = probs.argmax(1) == label
    out["windows"] = per_clip["windows"].to_numpy()
    return out


@dataclass
class CrossValidation:
    """What :func:`cross_validate` returns: per-clip predictions of held-out sources, and the folds.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)
    """

    #: One row per clip: ``clip``, ``source``, ``class``, ``predicted``, ``p_<class>``, ``p_true``,
    #: ``correct``, ``windows``, ``fold``; every clip predicted by the model that never saw its source.
    predictions: pd.DataFrame
    #: ``source -> fold`` (each source held out in exactly that fold).
    folds: pd.Series
    #: One row per fold: held-out, validation and training sources and clips, seconds, training summary.
    fold_table: pd.DataFrame
    class_names: list[str]
    models: list = field(default_factory=list)

    def summary(self, **kwargs) -> dict:
        """:func:`cv_metrics` of the predictions (keyword arguments passed on)."""
        return cv_metrics(self.predictions, self.class_names, **kwargs)

    def per_source(self) -> pd.DataFrame:
        """:func:`per_source_table` of the predictions."""
        return per_source_table(self.predictions)


def cross_validate(
    clips: ClipSet,
    train_fn: TrainFn,
    *,
    class_names: Sequence[str],
    n_folds: int = 5,
    seed: int = 0,
    val_fraction: float = 0.15,
    folds: pd.Series | None = None,
    only_folds: Sequence[int] | None = None,
    keep_models: bool = False,
    progress: bool = True,
) -> CrossValidation:
    """Source-held-out cross-validation: per fold, train on the other sources, predict the held-out clips.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Parameters
    ----------
    clips : every clip (e.g. the three splits of notebook 01 joined with ``ClipSet.concat``); its
        table needs ``path``, ``class`` and ``source``. Clips of classes outside ``class_names`` are ignored.
    train_fn : ``train_fn(train, val, fold)`` returns a trained model (see :data:`TrainFn`), e.g.
        :func:`recipe_train_fn`. ``train`` and ``val`` hold only sources outside the held-out fold,
        and no source is in both; ``val`` is for early stopping or model choice (a refit may train on it too).
    n_folds, seed : passed to :func:`source_folds` (unless ``folds`` is given).
    val_fraction : share of each class's training clips set aside, by whole sources, for
        validation (:func:`validation_sources`, seeded with ``seed + fold``).
    folds : a ready ``source -> fold`` assignment (covering every source of ``class_names``).
    only_folds : run these folds only (to time one, or to spread folds over processes); the
        predictions then cover their held-out sources only. A fold's result does not depend on
        which other folds run.
    keep_models : keep each fold's trained model in ``models``.

    Returns
    -------
    :class:`CrossValidation`
    """
    class_names = list(class_names)
    keep = np.flatnonzero(clips.table["class"].isin(class_names).to_numpy())
    if len(keep) < len(clips):
        clips = clips.take(keep)
    if folds is None:
        folds = source_folds(clips.table, n_folds, seed=seed, classes=class_names)
    missing = sorted(set(clips.table["source"]) - set(folds.index))
    if missing:
        raise ValueError(f"sources without a fold: {missing}")
    n_folds = int(folds.max()) + 1
    primary = _primary_class(_source_class_counts(clips.table, class_names))
    rows, predictions, models = [], [], []
    for fold in range(n_folds) if only_folds is None else sorted(only_folds):
        if not 0 <= fold < n_folds:
            raise ValueError(f"fold {fold} is not one of the {n_folds} folds")
        t0 = time.perf_counter()
        held_out = sorted(folds.index[folds == fold])
        rest = clips.take(np.setdiff1d(np.arange(len(clips)), _rows_of_sources(clips, held_out)))
        for cls in class_names:
            if not (primary[sorted(set(rest.table["source"]))] == cls).any():
                raise ValueError(f"fold {fold}: every source of class {cls!r} is held out, so nothing is left to "
                                 f"train it on; use fewer folds or more sources")
        val_src = validation_sources(rest.table, fraction=val_fraction, seed=seed + fold, classes=class_names)
        if not val_src:
            raise ValueError(f"fold {fold}: no class has two training sources, so none can be spared for validation")
        val_rows = _rows_of_sources(rest, val_src)
        train = rest.take(np.setdiff1d(np.arange(len(rest)), val_rows))
        val = rest.take(val_rows)
        result = train_fn(train, val, fold)
        if list(result.class_names) != class_names:
            raise ValueError(f"fold {fold}: train_fn returned a model of classes {list(result.class_names)}, "
                             f"expected {class_names}")
        held = clips.take(_rows_of_sources(clips, held_out))
        pred = clip_predictions(result.model, result.feature_config, held, class_names)
        pred["fold"] = fold
        predictions.append(pred)
        if keep_models:
            models.append(result)
        summary = getattr(result, "train_summary", {}) or {}
        row = {"fold": fold, "held_out": held_out, "validation": val_src,
               "training": sorted(set(train.table["source"])), "train_clips": len(train), "val_clips": len(val),
               "test_clips": len(pred), "test_accuracy": float(pred["correct"].mean()) if len(pred) else float("nan"),
               "epochs_run": summary.get("epochs_run"), "best_epoch": summary.get("best_epoch"),
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        if progress:
            print(f"fold {fold + 1}/{n_folds}: {len(held_out)} held-out sources, {len(pred)} clips, "
                  f"accuracy {row['test_accuracy']:.3f} | train {len(train)} clips, val {len(val)} clips "
                  f"({len(val_src)} sources) | {row['seconds']:.0f} s", flush=True)
    predictions = pd.concat(predictions, ignore_index=True)
    return CrossValidation(predictions, folds, pd.DataFrame(rows), class_names, models)


def recipe_train_fn(model_name: str, class_names: Sequence[str], feature_config, *, train_config=None,
                    windows_per_epoch: int = 2048, model_kwargs: dict | None = None, refit: bool = False,
                    augment=None, balance: str = "clip", speed_range=None, device=None,
                    progress: bool = False) -> TrainFn:
    """A ``train_fn`` for :func:`cross_validate` running :func:`~audioclf_lib.train.train_classifier`, notebook 02's recipe.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    ``refit=False``: train on ``train``, keep the best epoch on ``val`` (as ``music-speech-noise``).
    ``refit=True``: train on ``train`` + ``val`` for every epoch and keep the last (as ``music-noise``).
    ``augment``, ``balance`` and ``speed_range`` go to :func:`~audioclf_lib.train.train_classifier` (the
    ablation of ``experiments/source_cv.py --variant``).
    """
    from .train import TrainConfig, train_classifier

    train_config = train_config if train_config is not None else TrainConfig()

    def train_fn(train: ClipSet, val: ClipSet, fold: int):
        # train_classifier always scores a test split at the end; the held-out fold is scored by
        # cross_validate instead, so it gets one validation clip here, and that score is discarded.
        splits = {"train": train, "val": val, "test": val.take([0])}
        return train_classifier(model_name, list(class_names), feature_config, splits, train_config=train_config,
                                windows_per_epoch=windows_per_epoch, model_kwargs=model_kwargs, refit=refit,
                                augment=augment, balance=balance, speed_range=speed_range, device=device,
                                progress=progress)

    return train_fn


def _scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy, macro-F1 and per-class recall of confusion matrices (..., K, K).

    The same definitions as :func:`~audioclf_lib.metrics.classification_metrics` (classes without
    examples are left out of the means; their recall is NaN here), vectorised over the leading axes.
    """
    cm = cm.astype(float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support, predicted = cm.sum(-1), cm.sum(-2)
    present = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(np.nan_to_num(recall) + precision > 0,
                      2 * precision * np.nan_to_num(recall) / (precision + np.nan_to_num(recall)), 0.0)
        n_present = present.sum(-1)
        return {"accuracy": tp.sum(-1) / cm.sum((-2, -1)),
                "balanced_accuracy": np.where(present, np.nan_to_num(recall), 0.0).sum(-1) / n_present,
                "macro_f1": np.where(present, f1, 0.0).sum(-1) / n_present,
                "recall": recall}


def cv_metrics(predictions: pd.DataFrame, class_names: Sequence[str], *, resample: str = "clip", n_boot: int = 2000,
               level: float = 0.95, seed: int = 0) -> dict:
    """Accuracy, balanced accuracy, macro-F1 and per-class recall of clip predictions, with bootstrap intervals.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Parameters
    ----------
    predictions : one row per clip with ``class``, ``predicted`` and (for ``resample="source"``) ``source``.
    resample : ``"clip"``: each replicate draws as many clips as there are, with replacement.
        ``"source"``: it draws whole sources (all their clips), as many as there are: the
        interval then also covers which sources happened to be in the corpus, and is wider.
    n_boot, level, seed : replicates, interval level in (0, 1), random seed (same seed, same interval).

    Returns
    -------
    metrics : ``n_clips``, ``n_sources``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``,
        ``per_class`` and ``confusion`` (from :func:`~audioclf_lib.metrics.classification_metrics`),
        and ``ci``: ``{metric: [low, high]}`` percentile intervals, with ``ci["recall"][class]``.
        A replicate that draws no clip of a class leaves it out of its means (and of its recall interval).
    """
    class_names = list(class_names)
    if resample not in ("clip", "source"):
        raise ValueError(f"resample={resample!r}; expected 'clip' or 'source'")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level}; expected a value in (0, 1)")
    if len(predictions) == 0:
        raise ValueError("no predictions to score")
    unknown = sorted((set(predictions["class"]) | set(predictions["predicted"])) - set(class_names))
    if unknown:
        raise ValueError(f"predictions name classes {unknown} not in {class_names}")
    k_of = {c: k for k, c in enumerate(class_names)}
    y = predictions["class"].map(k_of).to_numpy()
    y_hat = predictions["predicted"].map(k_of).to_numpy()
    point = classification_metrics(y, y_hat, class_names)
    # Resampling units as rows of flattened confusion counts: a replicate's confusion matrix is the
    # count-weighted sum of its draws, so all replicates come from one matrix product.
    K = len(class_names)
    groups = np.arange(len(y)) if resample == "clip" else pd.factorize(predictions["source"])[0]
    cells = np.zeros((groups.max() + 1, K * K))
    np.add.at(cells, (groups, y * K + y_hat), 1.0)
    n = len(cells)
    draws = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    boot = _scores((draws @ cells).reshape(n_boot, K, K))
    tail = 100 * (1 - level) / 2

    def interval(values: np.ndarray) -> list[float]:
        values = values[np.isfinite(values)]
        return [float(v) for v in np.percentile(values, [tail, 100 - tail])] if len(values) else [float("nan")] * 2

    ci = {m: interval(boot[m]) for m in ("accuracy", "balanced_accuracy", "macro_f1")}
    ci["recall"] = {c: interval(boot["recall"][:, k]) for k, c in enumerate(class_names)}
    return {"n_clips": int(len(y)), "n_sources": int(predictions["source"].nunique()) if "source" in predictions else None,
            "resample": resample, "n_boot": int(n_boot), "level": float(level), "seed": int(seed),
            "accuracy": point["accuracy"], "balanced_accuracy": point["balanced_accuracy"], "macro_f1": point["macro_f1"],
            "per_class": point["per_class"], "confusion": point["confusion"], "class_names": class_names, "ci": ci}


def per_source_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per held-out source and class, worst first.

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)

    Returns
    -------
    table : columns ``source``, ``class``, ``fold`` (when known), ``clips``, ``correct``,
        ``accuracy`` (clip accuracy in [0, 1]), ``mean_p_true`` (mean probability of the true
        class) and ``mostly_predicted_as`` (the commonest wrong prediction, ``""`` if none), sorted
        by accuracy, then by more clips first, then by name.
    """
    keys = ["source", "class"]
    agg = {"clips": ("correct", "size"), "correct": ("correct", "sum")}
    if "fold" in predictions:
        agg = {"fold": ("fold", "first"), **agg}
    if "p_true" in predictions:
        agg["mean_p_true"] = ("p_true", "mean")
    table = predictions.groupby(keys, sort=True).agg(**agg).reset_index()
    table["correct"] = table["correct"].astype(int)
    table["accuracy"] = table["correct"] / table["clips"]
    wrong = predictions[~predictions["correct"].astype(bool)]
    commonest = {key: group.value_counts().index[0] for key, group in wrong.groupby(keys)["predicted"]}
    table["mostly_predicted_as"] = [commonest.get(key, "") for key in zip(table["source"], table["class"])]
    columns = [c for c in ["source", "class", "fold", "clips", "correct", "accuracy", "mean_p_true", "mostly_predicted_as"]
               if c in table]
    table = table.sort_values(["accuracy", "clips", "source"], ascending=[True, False, True])
    return table[columns].reset_index(drop=True)


def per_fold_table(predictions: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Per fold: held-out sources, clips, accuracy, balanced accuracy and macro-F1 (classes present in the fold).

    Notebook: 02_train_cnn.ipynb (its results; the runs are ``experiments/source_cv.py``)
    """
    rows, k_of = [], {c: k for k, c in enumerate(class_names)}
    for fold, group in predictions.groupby("fold", sort=True):
        m = classification_metrics(group["class"].map(k_of).to_numpy(), group["predicted"].map(k_of).to_numpy(),
                                   list(class_names))
        rows.append({"fold": int(fold), "sources": int(group["source"].nunique()), "clips": len(group),
                     "accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"], "macro_f1": m["macro_f1"]})
    return pd.DataFrame(rows)


def source_cv_result(task: str, ablation: str | None = None) -> dict | None:
    """The committed source-held-out cross-validation of ``task``'s recipe (``experiments/source_cv.py``), or None.

    Notebook: 02_train_cnn.ipynb (and ``audioclf models``)

    Parameters
    ----------
    task : str
        A bundled model's name, e.g. ``"music-noise"``.
    ablation : str, optional
        One of the ablation's runs instead of the headline: ``"<variant>_<epochs>x<windows>"``, as
        ``experiments/results/ablation/source_cv_<task>_<ablation>.json`` names it.

    Returns
    -------
    dict or None
        ``balanced_accuracy``, ``macro_f1`` and ``accuracy`` over held-out clips, each with ``<metric>_ci``
        (95 % bootstrap over clips), ``recall`` per class, ``n_clips``, ``n_sources``, ``folds``, ``date``,
        ``epochs`` and ``windows_per_epoch`` of the run; None when the repository holds no such run.
    """
    import json

    from .config import REPO_ROOT

    results = REPO_ROOT / "experiments" / "results"
    path = results / f"source_cv_{task}.json" if ablation is None else results / "ablation" / f"source_cv_{task}_{ablation}.json"
    try:
        run = json.loads(path.read_text())
        clip = run["summary"]["clip"]
    except (OSError, KeyError, ValueError):
        return None
    return {**{m: clip[m] for m in ("balanced_accuracy", "macro_f1", "accuracy", "n_clips", "n_sources")},
            **{f"{m}_ci": tuple(clip["ci"][m]) for m in ("balanced_accuracy", "macro_f1", "accuracy")},
            "recall": {c: v["recall"] for c, v in clip["per_class"].items()}, "folds": len(run["folds"]),
            "date": run["date"][:10], "epochs": run["recipe"]["train_config"]["num_epochs"],
            "windows_per_epoch": run["recipe"]["windows_per_epoch"]}


def source_cv_devices(task: str = "music-noise-robust") -> pd.DataFrame | None:
    """The committed source-held-out cross-validation through simulated devices (``experiments/robust_source_cv.py``), or None.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    task : str
        The result's name: ``experiments/results/source_cv_<task>.json``.

    Returns
    -------
    pandas.DataFrame or None
        One row per (model, device): ``model``, ``device``, ``held_out_device`` (a preset no
        training or choice ever used), ``balanced_accuracy`` with ``low`` and ``high`` (95 %
        bootstrap over clips), ``music_recall``, ``noise_recall``, ``clips``, ``sources``; its
        ``attrs`` hold the run's ``date`` and ``recipe``. None when the repository holds no such run.
    """
    import json

    from .config import REPO_ROOT

    path = REPO_ROOT / "experiments" / "results" / f"source_cv_{task}.json"
    try:
        run = json.loads(path.read_text())
        rows = [{"model": r["model"], "device": r["device"], "held_out_device": r["device"] in run["held_out_devices"],
                 "balanced_accuracy": r["balanced_accuracy"], "low": r["ci"][0], "high": r["ci"][1],
                 "music_recall": r["music_recall"], "noise_recall": r["noise_recall"], "clips": r["clips"],
                 "sources": r["sources"]} for r in run["table"]]
    except (OSError, KeyError, ValueError, TypeError, IndexError):
        return None
    table = pd.DataFrame(rows)
    table.attrs.update(date=run.get("date", "")[:10], recipe=run.get("recipe", {}))
    return table
