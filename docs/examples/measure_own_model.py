"""The README's "Measure your own model" example: a small transformer classifier that is not in the zoo
(each row of an 8x8 sklearn digit is a token; nn.TransformerEncoderLayer = nn.MultiheadAttention + fused
LayerNorm + GELU MLP), trained for a few epochs, then measured with ``empirics.measure``.

    python docs/examples/measure_own_model.py   # prints the DataFrame, writes docs/figures/measure_own_model.png
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from sklearn.datasets import load_digits
from torch import nn

from empirics import measure


class RowTransformer(nn.Module):
    def __init__(self, d: int = 32):
        super().__init__()
        self.embed = nn.Linear(8, d)
        self.pos = nn.Parameter(torch.zeros(8, d))
        self.block = nn.TransformerEncoderLayer(
            d, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.block(self.embed(x) + self.pos).mean(1))


def main() -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32)  # (1797, 8, 8): 8 tokens of 8 pixels
    y = torch.tensor(digits.target)
    model = RowTransformer()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):  # a few epochs: ~97% train accuracy
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()

    inputs, targets = x[:256], y[:256]
    m = measure(model, (inputs, targets), nn.CrossEntropyLoss(), k=10)
    df = m.to_dataframe()
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(df.drop(columns=["error"]).to_string(index=False))
    qkv = m["block.self_attn.in_proj_weight"]
    print("qkv:", qkv.sigma.shape, qkv.h_exact.shape, qkv.U.shape, qkv.V.shape)
    out = Path(__file__).resolve().parents[1] / "figures" / "measure_own_model.png"
    m.plot(path=out)
    m.save("/tmp/measure_own_model.json")


if __name__ == "__main__":
    main()
