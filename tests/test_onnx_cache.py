"""The on-disk ONNX cache: exported and checked once, loaded afterwards, invalidated by any change."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from audioclf_lib import onnx_export
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.onnx_export import cached_onnx_model, model_content_hash

pytest.importorskip("onnxruntime")


@pytest.fixture
def exports(monkeypatch):
    """Counts the real exports (each one is a torch.onnx.export plus a parity check)."""
    calls = []
    real = onnx_export.onnx_bytes

    def counting(ckpt, **kw):
        calls.append(ckpt.model_name)
        return real(ckpt, **kw)

    monkeypatch.setattr(onnx_export, "onnx_bytes", counting)
    return calls


def _features(ckpt) -> np.ndarray:
    return onnx_export._example_input(ckpt).numpy()


def test_first_use_exports_and_writes_then_later_uses_load(tmp_path, exports):
    ckpt = load_checkpoint("music-noise")
    first, path = cached_onnx_model(ckpt, cache=tmp_path)
    assert path.is_file() and path.parent == tmp_path and len(exports) == 1
    again, path2 = cached_onnx_model(load_checkpoint("music-noise"), cache=tmp_path)
    assert path2 == path and len(exports) == 1, "a second start must not export again"
    x = _features(ckpt)
    np.testing.assert_array_equal(again(x), first(x))
    with torch.no_grad():
        np.testing.assert_allclose(again(x), ckpt.model(torch.from_numpy(x)).numpy(), atol=1e-4)


def test_changed_weights_get_another_file(tmp_path, exports):
    ckpt = load_checkpoint("music-noise")
    _, path = cached_onnx_model(ckpt, cache=tmp_path)
    with torch.no_grad():
        next(ckpt.model.parameters()).add_(0.01)
    changed, path2 = cached_onnx_model(ckpt, cache=tmp_path)
    assert path2 != path and len(exports) == 2
    x = _features(ckpt)
    with torch.no_grad():
        np.testing.assert_allclose(changed(x), ckpt.model(torch.from_numpy(x)).numpy(), atol=1e-4)


def test_key_covers_library_versions_and_classes(monkeypatch):
    import onnxruntime

    ckpt = load_checkpoint("music-noise")
    key = model_content_hash(ckpt)
    assert key == model_content_hash(load_checkpoint("music-noise"))
    monkeypatch.setattr(onnxruntime, "__version__", onnxruntime.__version__ + ".other")
    assert model_content_hash(ckpt) != key
    monkeypatch.undo()
    ckpt.class_names = list(reversed(ckpt.class_names))
    assert model_content_hash(ckpt) != key


def test_unreadable_cache_file_is_exported_again(tmp_path, exports):
    ckpt = load_checkpoint("music-noise")
    _, path = cached_onnx_model(ckpt, cache=tmp_path)
    path.write_bytes(b"not an onnx file")
    model, path2 = cached_onnx_model(ckpt, cache=tmp_path)
    assert path2 == path and len(exports) == 2
    assert path.read_bytes() != b"not an onnx file"
    assert model(_features(ckpt)).shape == (2, len(ckpt.class_names))


def test_unwritable_cache_folder_still_gives_a_checked_model(tmp_path, exports):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")  # mkdir fails even as root
    ckpt = load_checkpoint("music-noise")
    model, path = cached_onnx_model(ckpt, cache=blocker / "onnx")
    assert not path.exists() and len(exports) == 1
    assert model(_features(ckpt)).shape == (2, len(ckpt.class_names))


def test_cache_write_failure_still_gives_a_checked_model(tmp_path, exports, monkeypatch):
    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_export, "atomic_write_bytes", disk_full)
    ckpt = load_checkpoint("music-noise")
    model, path = cached_onnx_model(ckpt, cache=tmp_path)
    assert not path.exists() and len(exports) == 1
    assert model(_features(ckpt)).shape == (2, len(ckpt.class_names))
