"""Small datasets and weights written in the real on-disk formats the loaders read (empirics.data.local,
empirics.zoo.weights): CIFAR-10/100 python pickle batches, a Tiny-ImageNet-200 folder, ImageNet class folders and
a torchvision-named ResNet-50 ``state_dict``. Images are seeded noise around a per-class colour, so that a
network can fit them a little."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def _pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _images(rng: np.random.Generator, labels: np.ndarray, n_classes: int, size: int) -> np.ndarray:
    """uint8 (N, size, size, 3): class colour plus noise."""
    colours = np.linspace(30, 225, n_classes)
    base = colours[labels][:, None, None, None] * np.array([1.0, 0.6, 0.3])
    return np.clip(base + rng.normal(0, 40, (len(labels), size, size, 3)), 0, 255).astype(np.uint8)


def _rows(rng, n: int, n_classes: int) -> tuple[np.ndarray, list[int]]:
    labels = rng.integers(0, n_classes, n)
    img = _images(rng, labels, n_classes, 32).transpose(0, 3, 1, 2).reshape(n, 3072)  # CIFAR rows: R, G, B planes
    return img, [int(v) for v in labels]


def write_cifar10(root: Path, n_train: int = 40, n_test: int = 10, seed: int = 0) -> None:
    """``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` (bytes keys, as the originals)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    per = -(-n_train // 5)
    for i in range(1, 6):
        data, labels = _rows(rng, per, 10)
        _pickle(folder / f"data_batch_{i}", {b"batch_label": b"training", b"data": data, b"labels": labels})
    data, labels = _rows(rng, n_test, 10)
    _pickle(folder / "test_batch", {b"batch_label": b"testing", b"data": data, b"labels": labels})
    _pickle(folder / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]})


def write_cifar100(root: Path, n_train: int = 40, n_test: int = 10, seed: int = 1) -> None:
    """``root/cifar-100-python/{train, test, meta}`` with fine and coarse labels."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    for split, n in (("train", n_train), ("test", n_test)):
        data, fine = _rows(rng, n, 100)
        _pickle(folder / split, {b"data": data, b"fine_labels": fine, b"coarse_labels": [f // 5 for f in fine]})
    _pickle(folder / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)]})


def _jpeg(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)


def write_tiny_imagenet(root: Path, n_classes: int = 4, per_class: int = 10, n_val: int = 8, seed: int = 2) -> None:
    """``root/tiny-imagenet-200/{wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG,
    val/val_annotations.txt}`` (64×64 JPEGs; the annotation file is tab-separated: file, wnid, box)."""
    rng = np.random.default_rng(seed)
    folder = root / "tiny-imagenet-200"
    wnids = [f"n{1440000 + 17 * i:08d}" for i in range(n_classes)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wnids.txt").write_text("".join(w + "\n" for w in wnids))
    for c, w in enumerate(wnids):
        imgs = _images(rng, np.full(per_class, c), n_classes, 64)
        for j, img in enumerate(imgs):
            _jpeg(folder / "train" / w / "images" / f"{w}_{j}.JPEG", img)
        (folder / "train" / w / f"{w}_boxes.txt").write_text("")
    labels = rng.integers(0, n_classes, n_val)
    lines = []
    for j, (c, img) in enumerate(zip(labels, _images(rng, labels, n_classes, 64), strict=True)):
        _jpeg(folder / "val" / "images" / f"val_{j}.JPEG", img)
        lines.append(f"val_{j}.JPEG\t{wnids[c]}\t0\t0\t63\t63\n")
    (folder / "val" / "val_annotations.txt").write_text("".join(lines))


def write_imagenet(root: Path, n_classes: int = 3, per_class: int = 12, per_class_val: int = 2, seed: int = 3) -> None:
    """``root/imagenet/{train,val}/<wnid>/*.JPEG`` (class folders; JPEGs of uneven size, cropped by the loader)."""
    rng = np.random.default_rng(seed)
    wnids = [f"n{1530000 + 11 * i:08d}" for i in range(n_classes)]
    for split, n in (("train", per_class), ("val", per_class_val)):
        for c, w in enumerate(wnids):
            for j, img in enumerate(_images(rng, np.full(n, c), n_classes, 48)):
                _jpeg(root / "imagenet" / split / w / f"{w}_{j}.JPEG", img[:, :40])  # 48 high, 40 wide


def write_resnet50_weights(path: Path, num_classes: int, width: int, seed: int = 4) -> list[str]:
    """A torchvision-named ResNet-50 (7×7 stem + max-pool) ``state_dict`` at ``width``, saved like torchvision's
    file: a plain mapping of names to tensors, without BatchNorm's ``num_batches_tracked``. Returns its keys."""
    import torch

    from empirics.zoo import build_model

    model = build_model("resnet50_imagenet", num_classes=num_classes, width=width, seed=seed)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return list(state)


def write_all(root: Path, *, imagenet_classes: int = 3, resnet50_width: int = 4) -> None:
    """Every dataset of the paper preset in its real format under ``root``, and the ResNet-50 weights file."""
    write_cifar10(root)
    write_cifar100(root)
    write_tiny_imagenet(root)
    write_imagenet(root, n_classes=imagenet_classes)
    write_resnet50_weights(root / "resnet50-0676ba61.pth", imagenet_classes, resnet50_width)
