"""GPT-2-style decoder: byte embedding (vocab 256), learned positions, causal pre-LN blocks, ``ln_f``, ``head``.

Names: ``tok_emb``, ``pos_emb``, ``blocks.{i}.attn.qkv`` / ``.attn.proj`` / ``.mlp.up`` / ``.mlp.down``, ``head``.
``task="lm"``: the head maps every position to next-byte logits (b, t, vocab); ``task="classification"``:
the head maps the last position's state to ``num_classes`` logits (b, C) (App. C's LM → CLS ablation).
The paper's model: 6 layers, d_model 384, 6 heads (``gpt2_6l``); the CPU default is narrower.
"""

from __future__ import annotations

import torch
from torch import nn

from empirics.zoo.tags import tag
from empirics.zoo.transformer import Block, LayerNorm, init_transformer

TASKS = ("lm", "classification")


class GPT2(nn.Module):
    """GPT-2-style causal decoder over bytes (see the module docstring for names and the two tasks)."""

    def __init__(
        self,
        num_classes: int | None = None,
        vocab_size: int = 256,
        d_model: int = 64,
        n_head: int = 4,
        n_layer: int = 6,
        context: int = 64,
        task: str = "lm",
        mlp_ratio: int = 4,
    ):
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
        out = vocab_size if task == "lm" else num_classes
        if out is None:
            raise ValueError("a classification GPT-2 needs num_classes")
        self.task, self.context = task, context
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head, mlp_ratio, causal=True) for _ in range(n_layer))
        self.ln_f = LayerNorm(d_model)
        self.head = tag(nn.Linear(d_model, out), "head")
        init_transformer(self)
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb.weight, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits for byte indices ``idx`` (b, t): (b, t, vocab) for ``lm``, (b, C) for ``classification``; raises
        ``ValueError`` when ``t`` exceeds the context."""
        t = idx.shape[1]
        if t > self.context:
            raise ValueError(f"sequence length {t} exceeds the context {self.context}")
        z = self.tok_emb(idx) + self.pos_emb(torch.arange(t, device=idx.device))
        for block in self.blocks:
            z = block(z)
        z = self.ln_f(z)
        return self.head(z if self.task == "lm" else z[:, -1])
