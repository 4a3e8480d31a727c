"""Model zoo: the seed's 2-D CNN, the improved log-mel CNN and the seed-003 3-D CNN, behind one registry.

Every model is an :class:`AudioClassifier`: ``embed(x)`` gives an embedding, ``head`` maps it
to logits, so notebook 04 can freeze the body and fit a fresh head (:func:`freeze_base`).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "AudioClassifier",
    "SeedCNN2d",
    "MelCNN",
    "SeedCNN3d",
    "SmallCNN3d",
    "ColormapCNN2d",
    "MODELS",
    "register_model",
    "build_model",
    "count_parameters",
    "weight_bytes",
    "freeze_base",
]


class AudioClassifier(nn.Module):
    """Base class: subclasses define :meth:`embed`; ``forward`` returns logits (and optionally the embedding).

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    embedding_dim : int
        Size of what :meth:`embed` returns.
    n_classes : int
        Outputs of the linear :attr:`head`.
    dropout : float in [0, 1)
        Dropout on the embedding before the head (training only).
    """

    #: The FeatureConfig.representation this model expects.
    representation: str = "logmel"

    def __init__(self, embedding_dim: int, n_classes: int, dropout: float = 0.0):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The embedding the head classifies; every subclass implements it.

        Notebook: 02_train_cnn.ipynb

        Parameters
        ----------
        x : torch.Tensor
            Features in the model's layout: (B, C, n_mels, T) or (B, C, H, W) for 2-D models,
            (B, C, D, H, W) for 3-D ones.

        Returns
        -------
        e : torch.Tensor, shape (B, embedding_dim)
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_embedding: bool = False):
        """Logits for a batch of features.

        Notebook: 02_train_cnn.ipynb

        Parameters
        ----------
        x : torch.Tensor
            As for :meth:`embed`.
        return_embedding : bool
            Also return the embedding.

        Returns
        -------
        logits : torch.Tensor, shape (B, n_classes)
        e : torch.Tensor, shape (B, embedding_dim)
            Only with ``return_embedding=True``.
        """
        e = self.embed(x)  # (B, embedding_dim)
        logits = self.head(self.dropout(e))  # (B, n_classes)
        if return_embedding:
            return logits, e
        return logits


class SeedCNN2d(AudioClassifier):
    """The seed's ``SoundClassifier`` as published, on its 3 x 155 x 154 RGB spectrogram image.

    Notebook: 02_train_cnn.ipynb

    Conv(3->16, 3x3, pad 1)+ReLU+MaxPool -> Conv(16->32)+ReLU+MaxPool -> FC(32*38*38 -> 128)+ReLU -> FC(-> n).
    5.9 M parameters, almost all in the first fully connected layer.

    Parameters
    ----------
    n_classes : int
    image_size : (int, int)
        (H, W) of the input image; fixes the size of the first fully connected layer.
    """

    representation = "seed_rgb"

    def __init__(self, n_classes: int = 2, image_size: tuple[int, int] = (155, 154)):
        super().__init__(embedding_dim=128, n_classes=n_classes)
        self.conv = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        h, w = image_size[0] // 2 // 2, image_size[1] // 2 // 2  # 155x154 -> 38x38
        self.fc1 = nn.Linear(32 * h * w, 128)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) image in [-1, 1] -> (B, 128) embedding.

        Notebook: 02_train_cnn.ipynb
        """
        x = self.conv(x)  # (B, 3, 155, 154) -> (B, 32, 38, 38)
        return torch.relu(self.fc1(x.flatten(1)))  # (B, 128)


def _conv_bn(c_in: int, c_out: int, *, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MelCNN(AudioClassifier):
    """The improved 2-D CNN on 1 x n_mels x T log-mel: BatchNorm, global pooling, ~100 k parameters.

    Notebook: 02_train_cnn.ipynb

    Designed for accuracy per CPU millisecond: a stride-2 stem followed by a 2x2 max-pool cuts
    the input to 1/16 of its positions before the first wide convolution (a stride-1 stem at this
    size costs ~16x the FLOPs: ~36 MFLOP instead of ~560 MFLOP per 5-s window). Global mean+max
    pooling over frequency and time makes the model independent of the window length.

    Parameters
    ----------
    n_classes : int
    channels : tuple of int
        Output channels of the stem and of each following Conv+BatchNorm+MaxPool block.
    dropout : float
        As for :class:`AudioClassifier`.
    stem_pool : bool
        The 2x2 max-pool after the stem.
    """

    def __init__(self, n_classes: int = 2, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.2,
                 stem_pool: bool = True):
        super().__init__(embedding_dim=2 * channels[-1], n_classes=n_classes, dropout=dropout)
        layers: list[nn.Module] = [_conv_bn(1, channels[0], stride=2)]
        if stem_pool:
            layers.append(nn.MaxPool2d(2))
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [_conv_bn(c_in, c_out), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, T) log-mel -> (B, 2 * channels[-1]) embedding (mean and max pooled).

        Notebook: 02_train_cnn.ipynb
        """
        x = self.body(x)  # (B, 1, 64, 313) -> (B, 16, 16, 78) after the stem -> (B, 128, 2, 9)
        return torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=1)  # (B, 256)


class SeedCNN3d(AudioClassifier):
    """The seed-003 3-D CNN (TensorFlow original, rebuilt in PyTorch) on binned RGBA layers.

    Notebook: 03_train_3d_cnn.ipynb

    Three Conv3D blocks (32/64/128 filters, 3x3x3, BatchNorm, MaxPool3D, Dropout 0.25/0.25/0.3),
    global average pooling, Dense 256 -> 128 -> n: 347 k parameters with 4 input channels.
    Input (B, 4, D, H, W).

    Parameters
    ----------
    n_classes : int
    in_channels : int
        C of the input (4: RGBA).
    channels : (int, int, int)
        Filters of the three blocks.
    dropouts : (float, float, float)
        Dropout3d of the three blocks.
    """

    representation = "binned3d"

    def __init__(self, n_classes: int = 2, in_channels: int = 4, channels: tuple[int, int, int] = (32, 64, 128),
                 dropouts: tuple[float, float, float] = (0.25, 0.25, 0.3)):
        super().__init__(embedding_dim=128, n_classes=n_classes)
        blocks: list[nn.Module] = []
        c_in = in_channels
        for c_out, p in zip(channels, dropouts):
            blocks += [nn.Conv3d(c_in, c_out, 3, padding=1), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool3d(2, ceil_mode=True), nn.Dropout3d(p)]
            c_in = c_out
        self.body = nn.Sequential(*blocks)
        self.dense = nn.Sequential(nn.Linear(c_in, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) binned layers -> (B, 128) embedding.

        Notebook: 03_train_3d_cnn.ipynb
        """
        x = self.body(x)  # (B, 4, D, H, W) -> (B, 128, D/8, H/8, W/8)
        return self.dense(x.mean(dim=(-3, -2, -1)))  # (B, 128)


def _conv_bn3d(c_in: int, c_out: int, *, stride: int | tuple[int, int, int] = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


class SmallCNN3d(AudioClassifier):
    """A small, fast 3-D CNN on the seed-003 binned RGBA layers (the working version of :class:`SeedCNN3d`).

    Notebook: 03_train_3d_cnn.ipynb

    Stem Conv3D(stride 1 x 2 x 2) + BatchNorm + MaxPool(1 x 2 x 2) quarters the image before the
    wider layers, then Conv3D+BatchNorm+MaxPool3D blocks and global mean+max pooling over
    (bins, height, width). Input (B, C, D, H, W), e.g. (B, 4, 10, 64, 64).

    Parameters
    ----------
    n_classes : int
    in_channels : int
        C of the input (4: RGBA).
    channels : tuple of int
        Output channels of the stem and of each following block.
    dropout : float
        As for :class:`AudioClassifier`.
    """

    representation = "binned3d"

    def __init__(self, n_classes: int = 2, in_channels: int = 4, channels: tuple[int, ...] = (16, 32, 64, 128),
                 dropout: float = 0.2):
        super().__init__(embedding_dim=2 * channels[-1], n_classes=n_classes, dropout=dropout)
        layers: list[nn.Module] = [_conv_bn3d(in_channels, channels[0], stride=(1, 2, 2)), nn.MaxPool3d((1, 2, 2))]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [_conv_bn3d(c_in, c_out), nn.MaxPool3d(2, ceil_mode=True)]
        self.body = nn.Sequential(*layers)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) binned layers -> (B, 2 * channels[-1]) embedding (mean and max pooled).

        Notebook: 03_train_3d_cnn.ipynb
        """
        if not torch.onnx.is_in_onnx_export():  # ONNX has no memory formats
            x = x.contiguous(memory_format=torch.channels_last_3d)  # ~1.5x faster Conv3D training on the CPU
        x = self.body(x)  # (B, 4, 10, 64, 64) -> (B, 128, 2, 2, 2)
        return torch.cat([x.mean(dim=(-3, -2, -1)), x.amax(dim=(-3, -2, -1))], dim=1)  # (B, 256)


class ColormapCNN2d(MelCNN):
    """:class:`MelCNN` on the 3-channel colormap image (``seed_rgb``) instead of the grey log-mel.

    Notebook: 03_train_3d_cnn.ipynb

    The same network and pixels as the log-mel model, only in colour: the ablation's control for
    "does a colormap add anything". Input (B, 3, H, W).

    Parameters
    ----------
    n_classes, channels, dropout
        As for :class:`MelCNN` (with its stem pool).
    in_channels : int
        C of the input image.
    """

    representation = "seed_rgb"

    def __init__(self, n_classes: int = 2, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.2,
                 in_channels: int = 3):
        super().__init__(n_classes=n_classes, channels=channels, dropout=dropout)
        self.body[0] = _conv_bn(in_channels, channels[0], stride=2)


#: name -> constructor(n_classes, **kwargs)
MODELS: dict[str, Callable[..., AudioClassifier]] = {
    "seed_cnn2d": SeedCNN2d,
    "mel_cnn": MelCNN,
    "seed_cnn3d": SeedCNN3d,
    "small_cnn3d": SmallCNN3d,
    "colormap_cnn2d": ColormapCNN2d,
}


def register_model(name: str, constructor: Callable[..., AudioClassifier]) -> None:
    """Add a model to the registry (so checkpoints naming it can be loaded).

    Notebook: 02_train_cnn.ipynb (the registry :data:`MODELS` that :func:`build_model` reads; no notebook
    registers a model of its own)

    Parameters
    ----------
    name : str
        The name checkpoints store; an existing name is replaced.
    constructor : callable
        ``constructor(n_classes=..., **kwargs) -> AudioClassifier``.
    """
    MODELS[name] = constructor


def build_model(name: str, n_classes: int, **kwargs) -> AudioClassifier:
    """Build a registered model by name.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    n_classes : int
        >= 2.
    **kwargs
        Passed to the model's constructor.

    Returns
    -------
    AudioClassifier
        Freshly initialised, in training mode.

    Raises
    ------
    ValueError
        Unknown ``name`` (the known ones are listed) or ``n_classes < 2``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    if n_classes < 2:
        raise ValueError(f"n_classes={n_classes}: a classifier needs at least 2 classes")
    return MODELS[name](n_classes=n_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not).

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    model : nn.Module
        Frozen parameters count too; buffers (BatchNorm statistics) do not.

    Returns
    -------
    n : int
    """
    return sum(p.numel() for p in model.parameters())


def weight_bytes(model: nn.Module) -> int:
    """Bytes of parameters and buffers (what a float32 state-dict file roughly weighs).

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    model : nn.Module
        In its current dtype (a float32 model: 4 bytes per value).

    Returns
    -------
    size : int
        Bytes.
    """
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


def freeze_base(model: AudioClassifier, *, new_head: bool = False, n_classes: int | None = None) -> AudioClassifier:
    """Freeze everything but the head (the seed's fine-tuning recipe); optionally give it a fresh head.

    Notebook: 04_device_mismatch_finetune.ipynb

    BatchNorm layers in the frozen body are switched to eval mode by :func:`train.fit` through
    ``model.frozen_base = True``, so their running statistics stay those of the base data.

    Parameters
    ----------
    model : AudioClassifier
        Changed in place.
    new_head : bool
        Replace the head with a freshly initialised linear layer.
    n_classes : int or None
        Outputs of the new head (default: as many as the old one).

    Returns
    -------
    model : AudioClassifier
        The same object, only its head trainable.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    if new_head:
        model.head = nn.Linear(model.embedding_dim, n_classes or model.head.out_features)
    for p in model.head.parameters():
        p.requires_grad_(True)
    model.frozen_base = True
    return model
