"""Loaders for a user's local copies of CIFAR-10/100, Tiny-ImageNet-200 and ImageNet (nothing is downloaded).

Expected layouts under the data root (``--data-root``, else ``$SAD_DATA_ROOT``, else ``~/data``):

* ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` (the python pickle batches),
* ``cifar-100-python/{train, test, meta}`` (fine labels),
* ``tiny-imagenet-200/{wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG, val/val_annotations.txt}``,
* ``imagenet/{train,val}/<wnid>/*.JPEG`` (class folders, sorted wnid order = label).

Images become float32 (N, 3, H, W) standardized with the dataset's usual channel mean/std. ``n_classes``
keeps the first C classes; ``n_samples`` draws a seeded subset *before* decoding JPEGs (ImageNet defaults to
4096 images, since the whole set does not fit in memory).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from empirics.data.base import Dataset, DatasetNotFound, resize, seeded_subset, standardize

CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100_STATS = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
IMAGENET_DEFAULT_N = 4096

WHERE = {
    "cifar10": ("cifar-10-batches-py", "the CIFAR-10 python version (cifar-10-python.tar.gz)"),
    "cifar100": ("cifar-100-python", "the CIFAR-100 python version (cifar-100-python.tar.gz)"),
    "tiny-imagenet": ("tiny-imagenet-200", "Tiny-ImageNet-200 (tiny-imagenet-200.zip)"),
    "imagenet": ("imagenet", "ImageNet-1K as class folders train/<wnid>/*.JPEG and val/<wnid>/*.JPEG"),
}


def _missing(name: str, root: Path, missing: Path) -> DatasetNotFound:
    folder, what = WHERE[name]
    return DatasetNotFound(
        f"{name}: {missing} not found; unpack {what} so that {root / folder} exists "
        f"(data root: --data-root DIR, or $SAD_DATA_ROOT, default ~/data)"
    )


def _require(name: str, root: Path, *paths: Path) -> None:
    for p in paths:
        if not p.exists():
            raise _missing(name, root, p)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _finish(x, y, name, n_classes_total, n_classes, image_size, n_samples, seed, stats, meta) -> Dataset:
    if n_classes is not None:
        if not 2 <= n_classes <= n_classes_total:
            raise ValueError(f"{name} has {n_classes_total} classes; n_classes must be in 2..{n_classes_total}")
        keep = torch.nonzero(y < n_classes).flatten()
        x, y = x[keep], y[keep]
    sub = seeded_subset(len(y), n_samples, seed)
    x = x[sub].float() / 255.0
    if image_size is not None:
        x = resize(x, image_size)
    x = standardize(x, torch.tensor(stats[0]), torch.tensor(stats[1])).contiguous()
    meta = {**meta, "image_size": int(x.shape[-1])}
    return Dataset(x, y[sub], name, "real", n_classes or n_classes_total, "classification", meta)


def load_cifar(name, split, root, *, n_classes, image_size, n_samples, seed) -> Dataset:
    """CIFAR-10 or CIFAR-100 (``name``) from the pickle batches under ``root``; raises :class:`DatasetNotFound` naming
    the missing files."""
    folder = root / WHERE[name][0]
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        paths = [folder / f for f in files] + [folder / "batches.meta"]
        label_key, total, stats = b"labels", 10, CIFAR10_STATS
    else:
        paths = [folder / ("train" if split == "train" else "test"), folder / "meta"]
        label_key, total, stats = b"fine_labels", 100, CIFAR100_STATS
    _require(name, root, *paths)
    batches = [_unpickle(p) for p in paths[:-1]]
    data = np.concatenate([np.asarray(b[b"data"], dtype=np.uint8) for b in batches])
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    y = torch.tensor(np.concatenate([np.asarray(b[label_key]) for b in batches]), dtype=torch.int64)
    meta = {"source": str(folder), "files": [p.name for p in paths[:-1]]}
    return _finish(x, y, name, total, n_classes, image_size, n_samples, seed, stats, meta)


def _read_images(paths: list[Path], size: int, *, crop: bool) -> torch.Tensor:
    """Decode JPEGs to uint8 (N, 3, size, size): resize (shorter side to size·256/224 then centre crop if ``crop``)."""
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            im = im.convert("RGB")
            if crop:
                short = round(size * 256 / 224)
                w, h = im.size
                scale = short / min(w, h)
                im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
                w, h = im.size
                left, top = (w - size) // 2, (h - size) // 2
                im = im.crop((left, top, left + size, top + size))
            elif im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            out[i] = np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    return torch.from_numpy(out)


def load_tiny_imagenet(split, root, *, n_classes, image_size, n_samples, seed) -> Dataset:
    """Tiny-ImageNet-200 from its folder layout under ``root`` (labels in ``wnids.txt`` order; ``test`` is the val
    split); raises :class:`DatasetNotFound` naming the missing files."""
    folder = root / "tiny-imagenet-200"
    wnids_file = folder / "wnids.txt"
    split_dir = folder / ("train" if split == "train" else "val")
    _require("tiny-imagenet", root, wnids_file, split_dir)
    wnids = [w.strip() for w in wnids_file.read_text().split() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}
    if split == "train":
        items = [(p, index[w]) for w in wnids for p in sorted((split_dir / w / "images").glob("*.JPEG"))]
    else:
        ann = split_dir / "val_annotations.txt"
        _require("tiny-imagenet", root, ann)
        items = []
        for line in ann.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                items.append((split_dir / "images" / parts[0], index[parts[1]]))
    return _decode("tiny-imagenet", items, len(wnids), n_classes, image_size or 64, n_samples, seed, False, str(folder))


def load_imagenet(split, root, *, n_classes, image_size, n_samples, seed) -> Dataset:
    """ImageNet from class folders under ``root/imagenet/{train,val}`` (sorted wnids = labels; a seeded subset of 4096
    images by default); raises :class:`DatasetNotFound` when missing."""
    folder = root / "imagenet" / ("train" if split == "train" else "val")
    _require("imagenet", root, folder)
    wnids = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not wnids:
        raise _missing("imagenet", root, folder / "<wnid>")
    items = [
        (p, i)
        for i, w in enumerate(wnids)
        for p in sorted((folder / w).iterdir())
        if p.suffix.lower() in (".jpeg", ".jpg", ".png")
    ]
    n_samples = IMAGENET_DEFAULT_N if n_samples is None else n_samples
    return _decode("imagenet", items, len(wnids), n_classes, image_size or 224, n_samples, seed, True, str(folder))


def _decode(name, items, total, n_classes, size, n_samples, seed, crop, source) -> Dataset:
    if n_classes is not None:
        if not 2 <= n_classes <= total:
            raise ValueError(f"{name} has {total} classes; n_classes must be in 2..{total}")
        items = [it for it in items if it[1] < n_classes]
    if not items:
        raise DatasetNotFound(f"{name}: no images found under {source}")
    sub = seeded_subset(len(items), n_samples, seed).tolist()
    chosen = [items[i] for i in sub]
    x = _read_images([p for p, _ in chosen], size, crop=crop).float() / 255.0
    x = standardize(x, torch.tensor(IMAGENET_STATS[0]), torch.tensor(IMAGENET_STATS[1])).contiguous()
    y = torch.tensor([c for _, c in chosen], dtype=torch.int64)
    meta = {"source": source, "image_size": size, "n_files": len(items)}
    return Dataset(x, y, name, "real", n_classes or total, "classification", meta)
