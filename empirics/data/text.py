"""Real English text available offline: the Python documentation topics shipped with CPython.

Corpus: ``pydoc_data.topics.topics`` (the text of ``help('topic')``, ~465 kB), topics concatenated in sorted
key order, separated by blank lines, encoded as UTF-8 bytes (byte-level vocabulary of 256). The first 90 % of
the bytes is the train split, the last 10 % the test split (contiguous, so no text is shared).

* task ``lm`` (``text``): non-overlapping windows of ``context + 1`` bytes; inputs = bytes[:-1],
  targets = bytes[1:] (next-byte prediction).
* task ``classification`` (``text-cls``, App. C's LM → CLS ablation): windows of ``context`` bytes,
  label 1 = the window as written, 0 = the same window under a fixed random substitution of the 256 byte
  values (``CIPHER_SEED``), chosen per window by a seeded coin. (A byte-reversal task was tried first: the
  CPU-size GPT-2 stayed at chance after 4 epochs, so it was replaced by this one, which it learns.)
"""

from __future__ import annotations

import hashlib

import torch

from empirics.data.base import Dataset, seeded_subset

TRAIN_FRACTION = 0.9
CIPHER_SEED = 1234


def corpus_bytes() -> bytes:
    """The corpus: every pydoc topic text in sorted key order, blank-line separated, as UTF-8 bytes."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics)).encode("utf-8")


def _split_bytes(split: str) -> torch.Tensor:
    data = corpus_bytes()
    cut = int(len(data) * TRAIN_FRACTION)
    part = data[:cut] if split == "train" else data[cut:]
    return torch.frombuffer(bytearray(part), dtype=torch.uint8).to(torch.int64)


def load_text(name: str, split: str, *, context: int, n_samples: int | None, seed: int) -> Dataset:
    """The ``text`` (next-byte LM) or ``text-cls`` (written vs substituted bytes) dataset of windows of ``context``
    bytes from one split, with the corpus hash in ``meta``; raises ``ValueError`` for ``context < 2``."""
    if context < 2:
        raise ValueError(f"context must be at least 2 bytes, got {context}")
    data = _split_bytes(split)
    full = corpus_bytes()
    meta = {
        "source": "pydoc_data.topics (CPython documentation topics)",
        "corpus_bytes": len(full),
        "corpus_sha256": hashlib.sha256(full).hexdigest(),
        "split_bytes": int(data.numel()),
        "context": context,
        "vocab_size": 256,
    }
    if name == "text":
        n = (data.numel() - 1) // (context + 1)
        windows = data[: n * (context + 1)].view(n, context + 1)
        sub = seeded_subset(n, n_samples, seed)
        w = windows[sub]
        return Dataset(w[:, :-1].contiguous(), w[:, 1:].contiguous(), name, "real", None, "lm", meta)
    n = data.numel() // context
    windows = data[: n * context].view(n, context)
    g = torch.Generator().manual_seed(seed + (0 if split == "train" else 1))
    labels = torch.randint(0, 2, (n,), generator=g)
    cipher = torch.randperm(256, generator=torch.Generator().manual_seed(CIPHER_SEED))
    x = torch.where(labels[:, None].bool(), windows, cipher[windows])
    sub = seeded_subset(n, n_samples, seed)
    meta["labels"] = f"1 = bytes as written, 0 = bytes under a fixed random substitution (seed {CIPHER_SEED})"
    return Dataset(x[sub].contiguous(), labels[sub], name, "real", 2, "classification", meta)
