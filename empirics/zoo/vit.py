"""ViT-Tiny: patch embedding conv, class token, learned positions, pre-LN blocks, ``norm``, ``head``.

Names: ``patch_embed.proj`` (Conv2d, type patch_embed), ``blocks.{i}.attn.qkv`` / ``.attn.proj`` /
``.mlp.up`` / ``.mlp.down``, ``head``. ViT-Tiny = width 192, depth 12, 3 heads, MLP ratio 4; the patch size
defaults to 4 for 32×32 inputs (64 patches).
"""

from __future__ import annotations

import torch
from torch import nn

from empirics.zoo.tags import tag
from empirics.zoo.transformer import Block, LayerNorm, init_transformer


class PatchEmbed(nn.Module):
    """Patch embedding: a ``patch``×``patch`` conv with stride ``patch`` (type ``patch_embed``), patches as tokens."""

    def __init__(self, in_channels: int, dim: int, patch: int):
        super().__init__()
        self.proj = tag(nn.Conv2d(in_channels, dim, patch, stride=patch), "patch_embed")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (b, n_patches, dim) of images (b, C, H, W)."""
        return self.proj(x).flatten(2).transpose(1, 2)  # (b, n_patches, dim)


class ViT(nn.Module):
    """ViT: patch embedding, class token, learned positions, pre-LN blocks, final LayerNorm and ``head`` on the class
    token; raises ``ValueError`` when the image size is not a multiple of the patch."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        width: int = 192,
        depth: int = 12,
        n_head: int = 3,
        patch: int | None = None,
        mlp_ratio: int = 4,
    ):
        super().__init__()
        patch = patch if patch is not None else max(1, image_size // 8)
        if image_size % patch:
            raise ValueError(f"image size {image_size} is not divisible by the patch size {patch}")
        n_tokens = (image_size // patch) ** 2 + 1
        self.patch_embed = PatchEmbed(in_channels, width, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.randn(1, n_tokens, width) * 0.02)
        self.blocks = nn.ModuleList(Block(width, n_head, mlp_ratio) for _ in range(depth))
        self.norm = LayerNorm(width)
        self.head = tag(nn.Linear(width, num_classes), "head")
        init_transformer(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, C) from the class token's final state."""
        z = self.patch_embed(x)
        z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], dim=1) + self.pos_embed
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z)[:, 0])
