"""``python -m empirics measure --model pkg.module:factory`` (or ``path/to/file.py:factory``): your own model.

Arguments that differ from a zoo run (the rest — ``--k``, ``--layers``, ``--method``, ``--out``, resume,
exit codes — are the same):

* ``--model SPEC:NAME`` — ``NAME`` is a callable in the module ``SPEC`` (dotted import path, or a ``.py``
  file) returning an ``nn.Module``; ``--model-arg KEY=VALUE`` are passed to it as keyword arguments;
* ``--checkpoint FILE`` — a state dict (or ``{"model": state_dict}``) read with ``weights_only=True``;
* ``--data FILE`` — the measured batch: a ``.pt`` file (read with ``weights_only=True``) holding
  ``(inputs, targets)`` or a dict with ``inputs``/``targets`` (or ``x``/``y``), or an ``.npz`` with those
  keys; ``--batch B`` takes its first ``B`` samples (default: all);
* ``--loss`` — ``cross_entropy`` (default for integer targets), ``mse`` (default for float targets), or
  ``SPEC:NAME`` of a loss with the usual mean reduction (per-sample terms are derived and checked, see
  :mod:`empirics.measurement.losses`); ``--output KEY`` picks the measured tensor of a dict/tuple output.

Every bad input raises :class:`UserModelError` with one line naming the flag; the CLI exits with status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

__all__ = ["UserModelError", "is_user_model", "load_callable", "load_batch", "prepare"]

LOSSES = ("cross_entropy", "mse")


class UserModelError(ValueError):
    """A user-model argument is unusable; the message names the flag."""


def is_user_model(spec: str | None) -> bool:
    """Whether ``--model`` names a factory (``module:callable``) rather than a zoo model."""
    return bool(spec) and ":" in str(spec)


def load_callable(spec: str, flag: str) -> Any:
    """The callable ``NAME`` of ``pkg.module:NAME`` or ``path/file.py:NAME``."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise UserModelError(f"{flag} {spec}: expected MODULE:NAME or path/to/file.py:NAME")
    try:
        if where.endswith(".py") or "/" in where:
            path = Path(where)
            if not path.is_file():
                raise UserModelError(f"{flag} {spec}: no such file {where}")
            mod_name = f"_sad_user_{path.stem}_{abs(hash(str(path.resolve())))}"
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise UserModelError(f"{flag} {spec}: cannot import {where}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[mod_name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except UserModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import: one line
        raise UserModelError(f"{flag} {spec}: importing {where} failed ({type(exc).__name__}: {_first(exc)})") from None
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        raise UserModelError(f"{flag} {spec}: {where} has no callable {name!r}")
    return fn


def _first(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else ""


def load_batch(path: str, batch: int | None):
    """``(inputs, targets)`` from a ``.pt`` (weights_only) or ``.npz`` file, first ``batch`` samples."""
    import numpy as np
    import torch

    p = Path(path)
    if not p.is_file():
        raise UserModelError(f"--data {path}: no such file")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                obj: Any = {k: torch.from_numpy(np.ascontiguousarray(z[k])) for k in z.files}
        else:
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable data is a user error
        raise UserModelError(f"--data {path}: unreadable ({type(exc).__name__}: {_first(exc)})") from None
    if isinstance(obj, dict):
        keys = next((ks for ks in (("inputs", "targets"), ("x", "y")) if all(k in obj for k in ks)), None)
        if keys is None:
            raise UserModelError(
                f"--data {path}: expected keys inputs/targets (or x/y), found {', '.join(map(str, obj))}"
            )
        x, y = obj[keys[0]], obj[keys[1]]
    elif isinstance(obj, (tuple, list)) and len(obj) == 2:
        x, y = obj
    else:
        raise UserModelError(f"--data {path}: expected (inputs, targets) or a dict with inputs/targets")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise UserModelError(f"--data {path}: inputs and targets must be tensors/arrays")
    if len(x) != len(y):
        raise UserModelError(f"--data {path}: {len(x)} inputs but {len(y)} targets")
    if len(x) == 0:
        raise UserModelError(f"--data {path}: empty (no samples)")
    if batch is not None:
        if batch < 1:
            raise UserModelError(f"--batch must be >= 1, got {batch}")
        if batch > len(x):
            raise UserModelError(f"--batch {batch}: --data {path} has only {len(x)} samples")
        x, y = x[:batch], y[:batch]
    if not y.is_floating_point():
        y = y.long()
    return x, y


def _loss(spec: str | None, targets):
    import torch.nn.functional as F

    name = spec or ("mse" if targets.is_floating_point() else "cross_entropy")
    if name == "cross_entropy":
        return lambda o, t: F.cross_entropy(o.reshape(-1, o.shape[-1]), t.reshape(-1))
    if name == "mse":
        return F.mse_loss
    if ":" in name:
        return load_callable(name, "--loss")
    raise UserModelError(f"--loss: unknown {name!r}; choose from {', '.join(LOSSES)} or MODULE:NAME")


def prepare(args, model_kwargs: dict[str, Any], checkpoint: dict | None, dtype, device):
    """(data description, model, layer table, inputs, targets) for a user model; ``UserModelError`` on bad input."""
    import torch

    from empirics import distributed as dist
    from empirics.layers import resolve_layers
    from empirics.measurement.api import auto_layer_types, working_copy
    from empirics.measurement.losses import LossMismatch, per_sample_loss
    from empirics.measurement.outputs import select_output

    if not args.data:
        raise UserModelError("--data is required with --model MODULE:NAME (a .pt or .npz batch)")
    factory = load_callable(args.model, "--model")
    try:
        model = factory(**model_kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's factory failed: one line
        raise UserModelError(f"--model {args.model}: calling it failed ({type(exc).__name__}: {_first(exc)})") from None
    if not isinstance(model, torch.nn.Module):
        raise UserModelError(f"--model {args.model}: returned {type(model).__name__}, not a torch.nn.Module")
    if checkpoint is not None:
        try:
            model.load_state_dict(checkpoint["model"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise UserModelError(f"--checkpoint {args.checkpoint}: does not fit {args.model} ({_first(exc)})") from None
    x, y = load_batch(args.data, args.batch)
    model = working_copy(model, dtype, device)
    x = x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
    y = y.to(device=device, dtype=dtype) if y.is_floating_point() else y.to(device)
    try:
        with torch.no_grad():
            sample = model(x[:2])
        net = select_output(model, sample, args.output)
        with torch.no_grad():
            out = net(x)
    except ValueError as exc:
        raise UserModelError(f"--output: {exc}".replace("output=", "--output ")) from None
    except Exception as exc:  # noqa: BLE001 - the model does not run on this data
        raise UserModelError(
            f"--data {args.data}: the model fails on it ({type(exc).__name__}: {_first(exc)})"
        ) from None
    try:
        loss_fn = per_sample_loss(_loss(args.loss, y), out, y)
    except (LossMismatch, TypeError) as exc:
        raise UserModelError(f"--loss: {str(exc).removeprefix('loss: ')}") from None
    try:
        table = resolve_layers(net, auto_layer_types(net), names=args.layers)
    except ValueError as exc:
        raise UserModelError(f"--layers: {exc}") from None
    if not table:
        raise UserModelError("--layers: no matrix weight to measure")
    is_cls = not y.is_floating_point() and y.dim() == 1
    is_lm = out.dim() == 3 and y.dim() == 2 and not y.is_floating_point()
    data = SimpleNamespace(
        kind="real",
        n_classes=int(out.shape[-1]) if is_cls else None,
        task="lm" if is_lm else "classification" if is_cls else "regression",
        meta={"data": str(Path(args.data).resolve()), "loss_per_sample": loss_fn.how},
        loss_fn=loss_fn,
        name=Path(args.data).name,
    )
    n = len(x)
    sl = dist.shard(n)
    return data, net, table, x[sl], y[sl]
