"""Pre-LN transformer block with explicit math attention (no SDPA/flash kernels).

Block: x ← x + proj(Attn(LN₁ x)),  x ← x + down(GELU(up(LN₂ x))), where
Attn(z) = softmax(Q Kᵀ/√d_h [+ causal mask]) V per head, [Q; K; V] = qkv(z) from one fused Linear.
The explicit path keeps double backward and forward-mode AD available (the engine needs both).
LayerNorm is computed by explicit ops too (:class:`LayerNorm`): torch 2.13's fused ``native_layer_norm`` gives
a wrong second derivative under forward-over-forward AD (nested ``jvp``: −15.47 vs −9.83 by finite differences,
double backward and jvp-of-grad on a 4×6 example), while the explicit formula agrees with all three.
Names: ``attn.qkv`` (attn_qkv), ``attn.proj`` (attn_proj), ``mlp.up`` (mlp_up), ``mlp.down`` (mlp_down).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from empirics.zoo.tags import tag


class LayerNorm(nn.LayerNorm):
    """y = (x − mean(x)) / sqrt(var(x) + ε) · γ + β over the last dimension, by explicit ops (same parameters
    and state_dict as ``nn.LayerNorm``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(x − mean) / sqrt(var + eps) over the last axis, then the affine map if any (explicit ops, for exact second
        derivatives)."""
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).square().mean(-1, keepdim=True)
        y = (x - mu) * torch.rsqrt(var + self.eps)
        return y * self.weight + self.bias if self.elementwise_affine else y


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` Linear and an output ``proj``, softmax computed explicitly (causal
    mask optional); raises ``ValueError`` when the width is not divisible by the heads."""

    def __init__(self, dim: int, n_head: int, causal: bool = False):
        super().__init__()
        if dim % n_head:
            raise ValueError(f"width {dim} is not divisible by the number of heads {n_head}")
        self.n_head, self.causal = n_head, causal
        self.qkv = tag(nn.Linear(dim, 3 * dim), "attn_qkv")
        self.proj = tag(nn.Linear(dim, dim), "attn_proj")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""Attention of tokens ``x`` (b, t, d): per head :math:`\mathrm{softmax}(QK^\top/\sqrt{d_h})V`, heads
        concatenated, then ``proj``."""
        b, t, d = x.shape
        h = self.n_head
        q, k, v = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each (b, h, t, d_h)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        y = scores.softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class MLPBlock(nn.Module):
    """Transformer MLP: ``up`` (Linear to ``hidden``), GELU, ``down`` (back to ``dim``)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.up = tag(nn.Linear(dim, hidden), "mlp_up")
        self.down = tag(nn.Linear(hidden, dim), "mlp_down")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """down(GELU(up(x))) on tokens (b, t, d)."""
        return self.down(nn.functional.gelu(self.up(x)))


class Block(nn.Module):
    """Pre-LN transformer block: attention and MLP, each behind a LayerNorm and added to the residual stream."""

    def __init__(self, dim: int, n_head: int, mlp_ratio: int = 4, causal: bool = False):
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = Attention(dim, n_head, causal)
        self.norm2 = LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_ratio * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + attn(LN₁ x), then + mlp(LN₂ ·), on tokens (b, t, d)."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def init_transformer(model: nn.Module) -> None:
    """GPT-2/ViT-style init: N(0, 0.02²) weights, zero biases, unit LayerNorm."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
