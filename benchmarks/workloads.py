r"""What is benchmarked: a model, a fixed random batch, its loss, the measured layers and their directions.

Models are built by :func:`empirics.zoo.build_model`, except these built-in nets:

* ``smallconv`` — the small conv net of the tests: Conv(3→8, 3×3) · BN · ReLU · Conv(8→16, 3×3, stride 2)
  · BN · ReLU · Flatten · Linear(→ classes), 12×12 inputs; three measured layers (conv, conv, head);
* ``tiny`` — a smaller variant (Conv(3→4) · BN · ReLU · Flatten · Linear), 6×6 inputs, for the agreement test;
* ``tanh_mlp`` — Flatten · Linear(784→W) · tanh · Linear(W→W) · tanh · Linear(W→classes) on 1×28×28 inputs
  (W = ``--width``, default 256): the smooth network of the single-layer targets (layer ``1`` is W×784, ``3`` W×W);
* ``hf_gpt2`` — HuggingFace ``GPT2LMHeadModel`` from a tiny ``GPT2Config`` (no download; vocab 256,
  ``--width`` = n_embd (default 32), ``n_layer`` 2, 2 heads, eager attention), measured on its logits
  (:func:`empirics.measurement.outputs.select_output`); ``wte`` is tied to the LM head (one layer, every use).

Every model is put in eval mode (BatchNorm running statistics, as ``empirics.measurement.runner.measure_layers`` does) and cast to
the benchmark dtype. Directions are the engine's own: :math:`G=\nabla_W\mathcal L` of every layer from one
backward (:func:`empirics.curvature.gradient_matrices`), its top-k SVD (:func:`top_k_directions`), and
:math:`D_k=u_kw_k^\top` in the weight's shape (:func:`direction_tensors`), so both methods see the same
:math:`v_k`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Workload",
    "BUILTIN_MODELS",
    "LM_MODELS",
    "build_workload",
    "select_layers",
    "make_directions",
    "LAYER_SETS",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LAYER_SETS = ("all", "conv+fc")


def _smallconv(classes: int, in_channels: int, image_size: int) -> nn.Module:
    hw = (image_size + 1) // 2  # stride-2, padding-1 conv
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * hw * hw, classes),
    )


def _tiny(classes: int, in_channels: int, image_size: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * image_size * image_size, classes),
    )


def _tanh_mlp(classes: int, in_channels: int, image_size: int, width: int = 256) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_channels * image_size * image_size, width),
        nn.Tanh(),
        nn.Linear(width, width),
        nn.Tanh(),
        nn.Linear(width, classes),
    )


#: name -> (builder, default image size, input channels)
BUILTIN_MODELS: dict[str, tuple[Callable[..., nn.Module], int, int]] = {
    "smallconv": (_smallconv, 12, 3),
    "tiny": (_tiny, 6, 3),
    "tanh_mlp": (_tanh_mlp, 28, 1),
}
#: sequence models (token inputs, next-token targets, per-sequence LM loss)
LM_MODELS = ("gpt2", "gpt2_6l", "hf_gpt2")


def _hf_gpt2(width: int | None, context: int | None, n_layer: int = 2, n_head: int = 2) -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(
        vocab_size=256,
        n_positions=context or 16,
        n_embd=width or 32,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=0,
        eos_token_id=0,
        use_cache=False,
        attn_implementation="eager",
    )
    model = GPT2LMHeadModel(cfg)
    model.context = cfg.n_positions
    return model


def per_sample_ce(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy (B,)."""
    return F.cross_entropy(outputs, targets, reduction="none")


def per_sequence_lm_ce(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sequence next-token cross-entropy: mean over the sequence's tokens (B,) (empirics' LM convention)."""
    b, t, v = outputs.shape
    return F.cross_entropy(outputs.reshape(b * t, v), targets.reshape(b * t), reduction="none").reshape(b, t).mean(1)


@dataclass
class Workload:
    r"""One benchmarked computation: the model (eval mode, benchmark dtype), a fixed random batch ``inputs``
    with its ``targets``, the per-sample loss :math:`\ell_i` (shape ``(B,)``) and the settings it was built with."""

    name: str
    model: nn.Module
    inputs: torch.Tensor
    targets: torch.Tensor
    loss_fn: LossFn
    settings: dict


def _randomize_bn(model: nn.Module, gen: torch.Generator) -> None:
    """Give BatchNorm non-trivial running statistics and affine parameters (fresh ones are 0/1: too easy)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
                if m.weight is not None:
                    m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))


def build_workload(
    model_name: str,
    *,
    batch: int,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    width: int | None = None,
    image_size: int | None = None,
    num_classes: int = 10,
    context: int | None = None,
    seed: int = 0,
    **size_kwargs,
) -> Workload:
    """The model (eval mode, ``dtype``, ``device``) and a fixed random batch of ``batch`` samples.

    Image models get standard-normal inputs and uniform labels; ``gpt2*``/``hf_gpt2`` get uniform random
    bytes (``context`` tokens, default the model's) with next-byte targets.
    """
    if batch < 1:
        raise ValueError(f"--batch must be ≥ 1, got {batch}")
    gen = torch.Generator().manual_seed(seed)
    kwargs: dict = dict(size_kwargs)
    channels = 3
    if model_name in BUILTIN_MODELS:
        if size_kwargs:
            raise ValueError(f"model {model_name!r} takes no size knobs, got {', '.join(size_kwargs)}")
        builder, default_size, channels = BUILTIN_MODELS[model_name]
        size = image_size or default_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = builder(num_classes, channels, size, width) if width else builder(num_classes, channels, size)
        if width:
            kwargs["width"] = width
    elif model_name == "hf_gpt2":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _hf_gpt2(width, context, **size_kwargs)
        kwargs.update({"n_embd": width or 32, "context": model.context})
    else:
        from empirics.zoo import build_model

        if width is not None:
            kwargs["width" if not model_name.startswith("gpt2") else "d_model"] = width
        if model_name.startswith("gpt2"):
            if context is not None:
                kwargs["context"] = context
            model = build_model(model_name, num_classes=None, seed=seed, **kwargs)
        else:
            size = image_size or 32
            model = build_model(model_name, num_classes=num_classes, image_size=size, seed=seed, **kwargs)
    _randomize_bn(model, gen)
    model = model.to(device=device, dtype=dtype).eval()
    if model_name in LM_MODELS:
        t = model.context
        tokens = torch.randint(0, 256, (batch, t + 1), generator=gen)
        inputs, targets, loss_fn = tokens[:, :-1], tokens[:, 1:], per_sequence_lm_ce
        shape = (batch, t)
        if model_name == "hf_gpt2":
            from empirics.measurement.outputs import select_output

            with torch.no_grad():
                model = select_output(model, model(inputs[:1].to(device)), None)
    else:
        inputs = torch.randn((batch, channels, size, size), generator=gen, dtype=torch.float64).to(dtype)
        targets = torch.randint(0, num_classes, (batch,), generator=gen)
        loss_fn = per_sample_ce
        shape = tuple(inputs.shape)
    settings = {"model": model_name, "input_shape": list(shape), "num_classes": num_classes, "seed": seed, **kwargs}
    return Workload(model_name, model, inputs.to(device), targets.to(device), loss_fn, settings)


def select_layers(model: nn.Module, which: str = "all", only: str | None = None) -> dict[str, str]:
    """Layers to measure: ``all`` = the engine's default table (:func:`empirics.layers.resolve_layers`);
    ``conv+fc`` = every Conv2d and Linear module of the model (shortcut convs included), typed conv/dense/head.
    ``only``: a comma-separated list of layer names to keep (``ValueError`` naming an unknown one).
    """
    table = _layer_set(model, which)
    if only:
        names = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f"--only: no layer {unknown[0]!r}; the layers are {', '.join(table)}")
        table = {n: table[n] for n in names}
    return table


def _layer_set(model: nn.Module, which: str) -> dict[str, str]:
    from empirics.layers import resolve_layers

    if which == "all":
        return resolve_layers(model)
    if which != "conv+fc":
        raise ValueError(f"--layers must be one of {', '.join(LAYER_SETS)}, got {which!r}")
    table: dict[str, str] = {}
    last_linear = None
    for n, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            table[n] = "conv"
        elif isinstance(m, nn.Linear):
            table[n] = "dense"
            last_linear = n
    if last_linear is not None:
        table[last_linear] = "head"
    return resolve_layers(model, layer_types=table)


def make_directions(work: Workload, names, k: int) -> tuple[dict[str, torch.Tensor], dict[str, dict]]:
    """The engine's directions for every layer: (name -> (k_l, *weight_shape), name -> {k, rank, m, n}).

    ``k_l = min(k, m, n)``; directions beyond the numerical rank of G are kept (they are still unit
    directions, and both methods must agree on them) and the rank is reported.
    """
    from empirics.curvature import direction_tensors, gradient_matrices, top_k_directions
    from empirics.layers import get_module

    G = gradient_matrices(work.model, work.loss_fn, work.inputs, work.targets, list(names))
    dirs, info = {}, {}
    for n, g in G.items():
        d = top_k_directions(g, k)
        dirs[n] = direction_tensors(d, get_module(work.model, n))
        info[n] = {"k": int(d.sigma.numel()), "rank": d.rank, "m": int(g.shape[0]), "n": int(g.shape[1])}
    return dirs, info
