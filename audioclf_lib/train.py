"""The one training loop (notebooks 02-04) and evaluation on held-out windows.

Features are computed on the fly from augmented waveforms by the same
:class:`~audioclf_lib.features.FeatureExtractor` the Predictor uses, on the training device.
"""
from __future__ import annotations

import copy
import io
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from .augment import spec_augment
from .checkpoint import atomic_write_bytes
from .config import FeatureConfig
from .features import FeatureExtractor
from .metrics import classification_metrics
from .models import AudioClassifier
from .runtime import default_device, seed_everything, worker_init_fn
from .windows import TrainWindows

__all__ = ["TrainConfig", "fit", "predict_proba", "evaluate_windows", "worst_clips", "TrainedModel", "train_classifier"]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters (saved in the checkpoint's ``train_summary``).

    Notebook: 02_train_cnn.ipynb

    Every field is documented below (``num_epochs``, ``lr``, ``weight_decay`` and ``batch_size`` for
    AdamW with a cosine schedule; ``seed`` for weights, windows and masks; ``spec_augment`` for
    :func:`~audioclf_lib.augment.spec_augment`; ``num_workers`` for the DataLoader).

    Raises
    ------
    ValueError
        ``keep`` other than ``"best"`` or ``"last"``.
    """

    num_epochs: int = 20
    lr: float = 2e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    #: Stop when validation balanced accuracy has not improved for this many epochs (not with ``keep="last"``).
    patience: int = 6
    seed: int = 0
    spec_augment: bool = True
    #: Mixed precision on CUDA (ignored on the CPU).
    amp: bool = True
    num_workers: int = 0
    #: Exponential moving average of the weights (and BatchNorm statistics), evaluated and kept
    #: instead of the raw weights: with random augmented windows the raw weights' validation score
    #: swings by several points from epoch to epoch. 0 disables it.
    ema_decay: float = 0.99
    #: Mixup (Zhang et al. 2018) on waveforms: each batch is mixed with a shuffled copy of itself,
    #: ``lam * y + (1 - lam) * y[perm]`` with ``lam ~ Beta(alpha, alpha)`` (folded to >= 0.5), and the loss
    #: weighted alike. 0 disables it (and then it draws no random number).
    mixup_alpha: float = 0.0
    #: Which weights :func:`fit` returns: ``"best"`` (the epoch with the best validation score) or
    #: ``"last"`` (the final epoch: for a refit on train + val, where validation is no longer held out).
    keep: str = "best"

    def __post_init__(self) -> None:
        if self.keep not in ("best", "last"):
            raise ValueError(f"keep={self.keep!r}; expected 'best' or 'last'")


def _batch_features(extractor: FeatureExtractor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return extractor(y)


def _mixup_draw(alpha: float, batch_size: int, gen: torch.Generator) -> tuple[float, torch.Tensor]:
    """Mixup's weight ``lam`` ~ Beta(alpha, alpha), folded to >= 0.5 (the batch's own labels stay the major
    ones), and the permutation pairing each example with another; both from ``gen`` (reproducible, resumable)."""
    beta_seed = int(torch.randint(2**62, (1,), generator=gen))  # torch has no seeded Beta sampler
    lam = float(np.random.default_rng(beta_seed).beta(alpha, alpha))
    return max(lam, 1.0 - lam), torch.randperm(batch_size, generator=gen)


def predict_proba(model: AudioClassifier, X: np.ndarray | torch.Tensor, *, extractor: FeatureExtractor | None = None,
                  batch_size: int = 128, device: torch.device | None = None) -> np.ndarray:
    """Probabilities (k, n_classes) for windows (``extractor`` given) or precomputed features.

    Notebook: 02_train_cnn.ipynb

    Puts ``model`` in eval mode.

    Parameters
    ----------
    model : AudioClassifier
    X : np.ndarray or torch.Tensor
        Waveform windows, shape (k, N), float32, when ``extractor`` is given; else features,
        e.g. shape (k, 1, n_mels, T).
    extractor : FeatureExtractor or None
        Front end applied per batch (on ``device``).
    batch_size : int
    device : torch.device or None
        Default: the device of the model's parameters.

    Returns
    -------
    probs : np.ndarray, shape (k, n_classes), float32
        Softmax rows summing to 1.
    """
    device = device or next(model.parameters()).device
    model.eval()
    X = torch.as_tensor(X)
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            xb = X[start : start + batch_size].to(device)
            if extractor is not None:
                xb = extractor(xb)
            out.append(torch.softmax(model(xb).float(), dim=-1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, model.head.out_features), np.float32)


def fit(
    model: AudioClassifier,
    extractor: FeatureExtractor,
    train_set: TrainWindows,
    val_windows: np.ndarray,
    val_labels: np.ndarray,
    *,
    config: TrainConfig = TrainConfig(),
    device: torch.device | str | None = None,
    state_path: str | Path | None = None,
    monitor: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train ``model`` on random windows, validating each epoch; restore the best epoch's weights.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    model : AudioClassifier
        Trained in place, moved to ``device``; left in eval mode with the kept weights (the EMA
        weights when ``config.ema_decay`` is set). A model with ``frozen_base`` trains its head only,
        BatchNorm statistics frozen.
    extractor : FeatureExtractor
        Front end, run on ``device`` on every batch.
    train_set : TrainWindows
        Random augmented windows; :meth:`~audioclf_lib.windows.TrainWindows.set_epoch` is called each epoch.
    val_windows, val_labels : np.ndarray, shapes (k, N) float32 and (k,) int
        Held-out waveform windows and their labels.
    config : TrainConfig
        Hyperparameters; ``config.keep`` picks the best or the last epoch.
    device : torch.device or str or None
        Default :func:`~audioclf_lib.runtime.default_device`.
    state_path : str or Path or None
        If given, the full training state is written there atomically after every
        epoch, and an existing state is resumed from (an interrupted run loses at most one epoch).
    monitor : dict of str -> (np.ndarray, np.ndarray) or None
        ``{name: (windows, labels)}`` scored every epoch into the column ``<name>_bal_acc``
        for diagnosis only (e.g. a device the selection must not see): never used to pick weights.
    progress : bool
        tqdm bar per epoch and one printed line per epoch.

    Returns
    -------
    history : pd.DataFrame
        One row per epoch run: ``epoch``, ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``,
        ``val_bal_acc``, ``lr``, ``seconds`` (and ``<name>_bal_acc`` per monitored set).

    Raises
    ------
    ValueError
        The model has no trainable parameter.
    """
    from tqdm.auto import tqdm

    seed_everything(config.seed)
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    extractor = extractor.to(device).eval()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.num_epochs))
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(config.seed)

    def features_of(windows: np.ndarray) -> torch.Tensor:  # computed once, scored every epoch
        return torch.cat([_batch_features(extractor, torch.as_tensor(windows[i : i + 128]).to(device)).cpu()
                          for i in range(0, len(windows), 128)])

    val_features = features_of(val_windows)
    monitored = {name: (features_of(w), np.asarray(labels)) for name, (w, labels) in (monitor or {}).items()}
    class_names = train_set.class_names

    history: list[dict] = []
    from torch.optim.swa_utils import AveragedModel

    def ema_step(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        # Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): short runs are not
        # dominated by their first, untrained steps.
        decay = min(config.ema_decay, (1.0 + float(n)) / (10.0 + float(n)))
        return averaged + (current - averaged) * (1.0 - decay)

    ema = AveragedModel(model, avg_fn=ema_step, use_buffers=True) if config.ema_decay else None
    scored = ema.module if ema is not None else model  # the weights that are validated and kept
    best = {"score": -1.0, "state": copy.deepcopy(scored.state_dict()), "epoch": -1}
    start_epoch = 0
    if state_path is not None and Path(state_path).exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])

    for epoch in range(start_epoch, config.num_epochs):
        t0 = time.perf_counter()
        train_set.set_epoch(epoch)
        loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=False, num_workers=config.num_workers,
                            worker_init_fn=worker_init_fn, drop_last=True)
        model.train()
        if getattr(model, "frozen_base", False):
            model.eval()  # frozen BatchNorm statistics stay those of the base data
            model.head.train()
        total_loss, correct, seen = 0.0, 0, 0
        for yb, lb in tqdm(loader, desc=f"epoch {epoch + 1}/{config.num_epochs}", leave=False, disable=not progress):
            yb, lb = yb.to(device, non_blocking=True), lb.to(device, non_blocking=True)
            lam, perm = 1.0, None
            if config.mixup_alpha > 0:
                lam, perm = _mixup_draw(config.mixup_alpha, len(lb), gen)
                perm = perm.to(device)
                yb = lam * yb + (1.0 - lam) * yb[perm]
            xb = _batch_features(extractor, yb)
            if config.spec_augment:
                xb = spec_augment(xb, generator=gen)
            with torch.autocast(device.type, enabled=use_amp):
                logits = model(xb)
                loss = loss_fn(logits.float(), lb)
                if perm is not None:
                    loss = lam * loss + (1.0 - lam) * loss_fn(logits.float(), lb[perm])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                ema.update_parameters(model)
            total_loss += float(loss.detach()) * len(lb)
            correct += int((logits.argmax(1) == lb).sum())
            seen += len(lb)
        scheduler.step()
        probs = predict_proba(scored, val_features, device=device)
        val_loss = float(nn.functional.nll_loss(torch.log(torch.as_tensor(probs) + 1e-9), torch.as_tensor(np.array(val_labels)).long()))
        m = classification_metrics(val_labels, probs.argmax(1), class_names)
        row = {"epoch": epoch + 1, "train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1),
               "val_loss": val_loss, "val_acc": m["accuracy"], "val_bal_acc": m["balanced_accuracy"],
               "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        for name, (features, labels) in monitored.items():
            row[f"{name}_bal_acc"] = classification_metrics(
                labels, predict_proba(scored, features, device=device).argmax(1), class_names)["balanced_accuracy"]
        history.append(row)
        score = m["balanced_accuracy"] - 1e-3 * val_loss  # ties go to the better-calibrated epoch
        if score > best["score"]:
            best = {"score": score, "state": copy.deepcopy(scored.state_dict()), "epoch": epoch}
        if progress:
            print(f"epoch {epoch + 1:2d}: loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} | "
                  f"val loss {val_loss:.3f} bal.acc {m['balanced_accuracy']:.3f} | {row['seconds']:.1f}s")
        if state_path is not None:
            buf = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "generator": gen.get_state(), "history": history, "best": best, "epoch": epoch,
                        "ema": ema.state_dict() if ema is not None else None,
                        "config": asdict(config)}, buf)
            atomic_write_bytes(state_path, buf.getvalue())
        if config.keep == "best" and epoch - best["epoch"] >= config.patience:
            if progress:
                print(f"early stop: no improvement since epoch {best['epoch'] + 1}")
            break
    model.load_state_dict(scored.state_dict() if config.keep == "last" else best["state"])
    model.eval()
    return pd.DataFrame(history)


def evaluate_windows(model: AudioClassifier, extractor: FeatureExtractor, windows: np.ndarray, table: pd.DataFrame,
                     class_names: list[str], *, features: np.ndarray | None = None) -> tuple[dict, pd.DataFrame]:
    """Window-level and clip-level metrics on held-out windows.

    Notebook: 02_train_cnn.ipynb (through :func:`train_classifier`; notebook 04 calls it directly)

    A clip's prediction is the argmax of its windows' mean probabilities.

    Parameters
    ----------
    model : AudioClassifier
    extractor : FeatureExtractor
        Moved to the model's device; not used when ``features`` is given.
    windows : np.ndarray, shape (k, N), float32
    table : pd.DataFrame
        One row per window with ``clip`` and ``label`` (:func:`~audioclf_lib.windows.eval_windows`).
    class_names : list of str
    features : np.ndarray or None
        Precomputed features of ``windows`` (:func:`~audioclf_lib.cache.eval_set`).

    Returns
    -------
    metrics : dict
        ``{"window": ..., "clip": ...}``, each as :func:`~audioclf_lib.metrics.classification_metrics` gives.
    table : pd.DataFrame
        A copy of ``table`` with ``p_<class>`` per class, ``pred`` (label index) and ``p_true``.
    """
    extractor = extractor.to(next(model.parameters()).device)
    probs = predict_proba(model, features, batch_size=128) if features is not None else \
        predict_proba(model, windows, extractor=extractor)
    table = table.copy()
    for k, name in enumerate(class_names):
        table[f"p_{name}"] = probs[:, k]
    table["pred"] = probs.argmax(1)
    table["p_true"] = probs[np.arange(len(table)), table["label"].to_numpy()]
    clip = table.groupby("clip").agg(label=("label", "first"), **{f"p_{n}": (f"p_{n}", "mean") for n in class_names})
    clip_pred = clip[[f"p_{n}" for n in class_names]].to_numpy().argmax(1)
    metrics = {"window": classification_metrics(table["label"].to_numpy(), table["pred"].to_numpy(), class_names),
               "clip": classification_metrics(clip["label"].to_numpy(), clip_pred, class_names)}
    return metrics, table


def worst_clips(table: pd.DataFrame, class_names: list[str], n: int = 10) -> pd.DataFrame:
    """The clips whose true class got the lowest mean probability, with their sources.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    table : pd.DataFrame
        The window table :func:`evaluate_windows` returns.
    class_names : list of str
    n : int
        Rows returned.

    Returns
    -------
    pd.DataFrame
        Columns ``path``, ``source``, ``true``, ``p_true`` (mean over the clip's windows), ``windows``
        (count), ``predicted``; at most ``n`` rows, lowest ``p_true`` first.
    """
    per_clip = table.groupby("clip").agg(path=("path", "first"), source=("source", "first"), true=("class", "first"),
                                         p_true=("p_true", "mean"), windows=("p_true", "size"))
    means = table.groupby("clip")[[f"p_{c}" for c in class_names]].mean()
    per_clip["predicted"] = [class_names[k] for k in means.to_numpy().argmax(1)]
    return per_clip.sort_values("p_true").head(n).reset_index(drop=True)


@dataclass
class TrainedModel:
    """What :func:`train_classifier` returns: the model, its front end and everything measured.

    Notebook: 02_train_cnn.ipynb

    Attributes
    ----------
    name : str
        Registry name of the model.
    model : AudioClassifier
        On the CPU, in eval mode.
    feature_config : FeatureConfig
    class_names : list of str
    history : pd.DataFrame
        As :func:`fit` returns.
    metrics : dict
        Test metrics, as :func:`evaluate_windows` returns.
    test_table : pd.DataFrame
        Test windows with their probabilities.
    train_summary : dict
        Hyperparameters, epochs, clips per split and class, training sources.
    """

    name: str
    model: AudioClassifier
    feature_config: FeatureConfig
    class_names: list[str]
    history: pd.DataFrame
    metrics: dict
    test_table: pd.DataFrame
    train_summary: dict

    def save(self, path: str | Path, **extra_summary) -> Path:
        """Save as a checkpoint carrying config, classes, training summary and test metrics.

        Notebook: 02_train_cnn.ipynb

        Parameters
        ----------
        path : str or Path
            The ``.pt`` file, written atomically (:func:`~audioclf_lib.checkpoint.save_checkpoint`).
        **extra_summary
            Added to the saved ``train_summary``.

        Returns
        -------
        Path
        """
        from .checkpoint import save_checkpoint

        return save_checkpoint(path, self.model, model_name=self.name, class_names=self.class_names,
                               feature_config=self.feature_config, model_kwargs=getattr(self.model, "init_kwargs", {}),
                               train_summary={**self.train_summary, **extra_summary}, metrics={"test": self.metrics})


def train_classifier(
    model_name: str,
    class_names: list[str],
    feature_config: FeatureConfig,
    splits: dict,
    *,
    train_config: TrainConfig = TrainConfig(),
    windows_per_epoch: int = 2048,
    model_kwargs: dict | None = None,
    transform=None,
    augment=None,
    balance: str = "clip",
    speed_range: tuple[float, float] | None = None,
    refit: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> TrainedModel:
    """Build ``model_name``, train it on ``splits['train']`` windows, pick the best epoch on ``val``, test on ``test``.

    Notebook: 02_train_cnn.ipynb

    The recipe notebooks 02-04 share; ``transform`` (e.g. a random microphone) and ``augment``
    (default :class:`~audioclf_lib.augment.WaveAugment`) shape the training windows.

    ``refit=True`` is the final fit of a recipe already validated: it trains on train + val
    for all ``train_config.num_epochs`` and keeps the last epoch (the validation scores in its
    history are then in-sample); the test split stays untouched until the end.

    Parameters
    ----------
    model_name : str
        A key of :data:`~audioclf_lib.models.MODELS`.
    class_names : list of str
        Classes, in label order.
    feature_config : FeatureConfig
        The front end (and window length) the model is trained and saved with.
    splits : dict of str -> ClipSet
        ``train``, ``val`` and ``test`` (:func:`~audioclf_lib.cache.load_splits`).
    train_config : TrainConfig
    windows_per_epoch : int
        Random training windows per epoch.
    model_kwargs : dict or None
        Passed to :func:`~audioclf_lib.models.build_model` and saved with the checkpoint.
    transform, augment, balance, speed_range
        As for :class:`~audioclf_lib.windows.TrainWindows`.
    refit : bool
        See above.
    device, progress
        As for :func:`fit`.

    Returns
    -------
    TrainedModel

    Raises
    ------
    ValueError
        Unknown model, fewer than 2 classes, or a class without training clips.
    """
    from .augment import WaveAugment
    from .cache import eval_set
    from .models import build_model

    model_kwargs = dict(model_kwargs or {})
    seed_everything(train_config.seed)  # the initial weights depend on the seed too
    model = build_model(model_name, len(class_names), **model_kwargs)
    model.init_kwargs = model_kwargs
    extractor = FeatureExtractor(feature_config)
    train_clips = splits["train"]
    if refit:
        from .data import ClipSet

        train_clips = ClipSet.concat(splits["train"], splits["val"])
        train_config = replace(train_config, keep="last")
    train_set = TrainWindows(train_clips, class_names, feature_config.window_samples, windows_per_epoch=windows_per_epoch,
                             augment=augment if augment is not None else WaveAugment(), transform=transform,
                             seed=train_config.seed, balance=balance, speed_range=speed_range)
    val_windows, val_table, _ = eval_set(splits["val"], "val", feature_config, class_names, with_features=False)
    history = fit(model, extractor, train_set, val_windows, val_table["label"].to_numpy(), config=train_config,
                  device=device, progress=progress)
    test_windows, test_table, test_features = eval_set(splits["test"], "test", feature_config, class_names)
    metrics, test_table = evaluate_windows(model, extractor, test_windows, test_table, class_names, features=test_features)
    summary = {
        "train_config": asdict(train_config),
        "windows_per_epoch": windows_per_epoch,
        **({"augment": asdict(augment)} if augment is not None else {}),
        **({"balance": balance} if balance != "clip" else {}),
        **({"speed_range": list(speed_range)} if speed_range is not None else {}),
        "epochs_run": int(len(history)),
        "best_epoch": int(history["val_bal_acc"].idxmax()) + 1 if len(history) else 0,
        "trained_on": "train + val (refit, last epoch kept)" if refit else "train (best validation epoch kept)",
        "clips": {split: {c: int((s.table["class"] == c).sum()) for c in class_names} for split, s in splits.items()},
        "sources": sorted(set(splits["train"].table["source"])),
    }
    return TrainedModel(model_name, model.cpu().eval(), feature_config, list(class_names), history, metrics, test_table, summary)
