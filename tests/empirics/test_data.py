"""Datasets: shipped digits, synthetic teacher tasks, the text corpus, and local loaders on written fixtures."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from empirics.data import DATASET_NAMES, DatasetNotFound, data_root, load_dataset, loss_for
from empirics.data.synthetic import Teacher
from empirics.data.text import corpus_bytes


def test_digits_fixed_split_resized():
    tr = load_dataset("digits", image_size=16)
    te = load_dataset("digits", split="test", image_size=16)
    assert tr.inputs.shape == (1437, 3, 16, 16) and te.inputs.shape == (360, 3, 16, 16)
    assert tr.kind == "real" and tr.n_classes == 10 and tr.task == "classification"
    assert set(tr.targets.tolist()) == set(range(10))
    # the split does not depend on the seed; n_samples draws a seeded subset
    assert torch.equal(load_dataset("digits", image_size=16, seed=5).targets, tr.targets)
    sub = load_dataset("digits", image_size=8, n_samples=100, seed=1)
    assert len(sub) == 100 and not torch.equal(
        sub.targets, load_dataset("digits", image_size=8, n_samples=100, seed=2).targets
    )
    three = load_dataset("digits", n_classes=3, image_size=8)
    assert three.n_classes == 3 and int(three.targets.max()) == 2


def test_synthetic_teacher_shapes_and_determinism():
    a = load_dataset("synthetic-cifar", n_samples=64, n_classes=7, seed=0)
    b = load_dataset("synthetic-cifar", n_samples=64, n_classes=7, seed=0)
    c = load_dataset("synthetic-cifar", n_samples=64, n_classes=7, seed=1)
    assert a.inputs.shape == (64, 3, 32, 32) and a.kind == "synthetic" and a.n_classes == 7
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)
    # the teacher is one fixed function: relabelling seed-1 inputs with a rebuilt teacher gives its labels
    assert torch.equal(Teacher(3, 7).labels(c.inputs), c.targets)
    assert len(a.targets.unique()) >= 4  # standardized logits keep the classes populated
    t = load_dataset("synthetic-tiny", n_samples=8, seed=0)
    assert t.inputs.shape == (8, 3, 64, 64) and t.n_classes == 200
    im = load_dataset("synthetic-imagenet", n_samples=2, n_classes=1000)
    assert im.inputs.shape == (2, 3, 224, 224) and im.n_classes == 1000


def test_text_lm_and_cls():
    assert len(corpus_bytes()) > 400_000
    lm = load_dataset("text", context=32, n_samples=50)
    assert lm.inputs.shape == (50, 32) and lm.targets.shape == (50, 32) and lm.task == "lm" and lm.n_classes is None
    assert torch.equal(lm.inputs[:, 1:], lm.targets[:, :-1])  # next-byte targets
    assert lm.inputs.dtype == torch.int64 and int(lm.inputs.max()) < 256
    full = load_dataset("text", context=32)
    text = bytes(full.inputs[0].tolist()).decode("utf-8", errors="replace")
    assert any(w in text for w in ("the", "The", "Python", "of")), text
    test = load_dataset("text", split="test", context=32)
    assert len(test) < len(full) / 5
    cls = load_dataset("text-cls", context=16, n_samples=40)
    assert cls.n_classes == 2 and cls.targets.shape == (40,) and set(cls.targets.tolist()) == {0, 1}
    # label 1 windows are corpus text, label 0 windows are the enciphered text (mostly non-ASCII-letter bytes)
    plain, coded = cls.inputs[cls.targets == 1], cls.inputs[cls.targets == 0]
    letters = lambda t: ((t >= 97) & (t <= 122)).float().mean()  # noqa: E731
    assert letters(plain) > 0.5 > letters(coded)


def test_loss_for_is_per_sample():
    lm = load_dataset("text", context=8, n_samples=4)
    logits = torch.randn(4, 8, 256, dtype=torch.float64)
    per = loss_for(lm)(logits, lm.targets)
    assert per.shape == (4,)
    ref = torch.nn.functional.cross_entropy(logits[1], lm.targets[1])
    assert torch.allclose(per[1], ref)
    cl = load_dataset("digits", image_size=8, n_samples=5)
    assert loss_for(cl)(torch.randn(5, 10), cl.targets).shape == (5,)


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown dataset 'x'; choose from digits"):
        load_dataset("x")
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("digits", split="val")
    assert "imagenet" in DATASET_NAMES


# ------------------------------------------------------------------ local loaders on written fixtures


def _pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def test_cifar10_fixture(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.RandomState(0)
    for i in range(1, 6):
        _pickle(
            d / f"data_batch_{i}",
            {b"data": rng.randint(0, 256, (4, 3072), dtype=np.uint8), b"labels": [i % 10, 1, 2, 3]},
        )
    test_pixels = rng.randint(0, 256, (3, 3072), dtype=np.uint8)
    _pickle(d / "test_batch", {b"data": test_pixels, b"labels": [7, 8, 9]})
    _pickle(d / "batches.meta", {b"label_names": [b"c%d" % i for i in range(10)]})
    tr = load_dataset("cifar10", root=str(tmp_path))
    assert tr.inputs.shape == (20, 3, 32, 32) and tr.n_classes == 10 and tr.kind == "real"
    te = load_dataset("cifar10", split="test", root=str(tmp_path))
    assert te.targets.tolist() == [7, 8, 9]
    # pixel layout: channel-major 3x32x32 per row, standardized with the CIFAR-10 mean/std
    red = test_pixels[0, :1024].reshape(32, 32) / 255.0
    assert np.allclose(te.inputs[0, 0].numpy(), (red - 0.4914) / 0.2470, atol=1e-5)
    assert load_dataset("cifar10", split="test", root=str(tmp_path), image_size=16).inputs.shape[-1] == 16


def test_cifar100_fixture_fine_labels(tmp_path, monkeypatch):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    rng = np.random.RandomState(1)
    for split, labels in (("train", [55, 3, 99]), ("test", [4, 0])):
        n = len(labels)
        _pickle(
            d / split,
            {
                b"data": rng.randint(0, 256, (n, 3072), dtype=np.uint8),
                b"fine_labels": labels,
                b"coarse_labels": [0] * n,
            },
        )
    _pickle(d / "meta", {b"fine_label_names": []})
    monkeypatch.setenv("SAD_DATA_ROOT", str(tmp_path))
    assert data_root() == tmp_path
    tr = load_dataset("cifar100")
    assert tr.targets.tolist() == [55, 3, 99] and tr.n_classes == 100
    assert load_dataset("cifar100", split="test").targets.tolist() == [4, 0]


def _jpeg(path, color, size=(64, 64)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG", quality=95)


def test_tiny_imagenet_fixture(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819"]
    root.mkdir()
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for c, w in enumerate(wnids):
        for j in range(2):
            _jpeg(root / "train" / w / "images" / f"{w}_{j}.JPEG", (200 * c, 50, 50))
    _jpeg(root / "val" / "images" / "val_0.JPEG", (0, 50, 50))
    _jpeg(root / "val" / "images" / "val_1.JPEG", (200, 50, 50))
    (root / "val" / "val_annotations.txt").write_text(
        f"val_0.JPEG\t{wnids[1]}\t0\t0\t10\t10\nval_1.JPEG\t{wnids[0]}\t0\t0\t5\t5\n"
    )
    tr = load_dataset("tiny-imagenet", root=str(tmp_path))
    assert tr.inputs.shape == (4, 3, 64, 64) and tr.targets.tolist() == [0, 0, 1, 1] and tr.n_classes == 2
    assert float(tr.inputs[2, 0].mean()) > float(tr.inputs[0, 0].mean())  # class-1 images are redder
    va = load_dataset("tiny-imagenet", split="test", root=str(tmp_path))
    assert va.targets.tolist() == [1, 0]


def test_imagenet_fixture_class_folders(tmp_path):
    for split in ("train", "val"):
        for c, w in enumerate(["n02", "n01", "n03"]):
            _jpeg(tmp_path / "imagenet" / split / w / f"{w}_0.JPEG", (80 * c, 10, 10), size=(300, 260))
    tr = load_dataset("imagenet", root=str(tmp_path), image_size=32)
    assert tr.inputs.shape == (3, 3, 32, 32) and tr.n_classes == 3
    # labels follow the sorted wnid order: n01 -> 0, n02 -> 1, n03 -> 2
    assert sorted(tr.targets.tolist()) == [0, 1, 2]
    two = load_dataset("imagenet", split="test", root=str(tmp_path), image_size=32, n_classes=2)
    assert sorted(two.targets.tolist()) == [0, 1]


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "tiny-imagenet", "imagenet"])
def test_missing_dataset_one_line_error(tmp_path, name):
    with pytest.raises(DatasetNotFound) as exc:
        load_dataset(name, root=str(tmp_path))
    msg = str(exc.value)
    assert "\n" not in msg and str(tmp_path) in msg and "--data-root" in msg
    assert isinstance(exc.value, FileNotFoundError)
