"""Measured quantities as plug-ins: the registry, each fragment's keys against its schema, declines as notes,
and the worked example of docs/extending.md (the gradient energy of the measured window)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from empirics.quantities import Decline, MeasureSettings, Quantity, register, registered, schema_fragments
from tests.cases import make_case, run_layers

KINDS = {
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "integer_or_null": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "numbers": lambda v: isinstance(v, list) and all(isinstance(x, (int, float)) for x in v),
    "numbers_or_null": lambda v: isinstance(v, list) and all(x is None or isinstance(x, (int, float)) for x in v),
}


def test_registry_order_and_fragments():
    names = [q.name for q in registered()]
    assert names[:4] == ["exact", "gn", "fd", "kron"] and names[-1] == "fits" and "energy" in names
    frags = schema_fragments()
    assert set(frags.values()) <= set(KINDS)
    assert {"h_exact", "h_gn", "gn_gap", "h_fd", "kron", "fits", "sigma_energy"} <= set(frags)


def test_every_fragment_writes_exactly_its_schema_keys():
    model, lf, x, y = make_case("mlp_ce")
    rec = run_layers(model, lf, x, y, layer_types={"0": "dense"}, k=3, fd=True, extras=("energy",))[0]
    core = {"name", "layer_type", "shape", "weight_shape", "k", "rank", "rank_rtol", "sigma"}
    closing = {"diagnostics", "timing", "measured_at"}
    frags = schema_fragments()
    assert set(rec) == core | closing | set(frags)
    for key, kind in frags.items():
        assert KINDS[kind](rec[key]), (key, kind, rec[key])


@pytest.fixture
def restore_registry():
    from empirics import quantities

    before = list(quantities._EXTRAS)
    yield
    quantities._EXTRAS[:] = before


def test_a_declining_quantity_leaves_a_note_and_the_rest_measured(restore_registry):
    @register
    class Picky(Quantity):
        name = "picky"
        schema = {"picky_value": "number"}

        def measure(self, ctx):
            if ctx.name == "0":
                raise Decline("picky not computed: layer 0 is not its kind")
            return {"picky_value": 1.0}

    model, lf, x, y = make_case("mlp_ce")
    recs = run_layers(model, lf, x, y, layer_types={"0": "dense", "2": "head"}, k=2, kron=False, extras=("picky",))
    assert "picky_value" not in recs[0] and recs[1]["picky_value"] == 1.0
    assert "picky not computed: layer 0 is not its kind" in recs[0]["diagnostics"]["notes"]
    assert recs[0]["h_exact"] and recs[0]["fits"]  # the other quantities are there
    with pytest.raises(ValueError, match="already registered"):
        register(Picky)


def _planted(sigmas: list[float], m: int = 5, n: int = 6, B: int = 40):
    r"""A bias-free linear layer under the loss :math:`\langle W, C\rangle`-like target: with
    ``0.5‖Wa - t‖²`` and ``W = 0``, :math:`G=-\frac1B\sum t a^\top`; choose :math:`t_i=M a_i` with
    :math:`\frac1B A^\top A=I` so that :math:`G=-M`, whose singular values are planted."""
    g = torch.Generator().manual_seed(0)
    q_a, _ = torch.linalg.qr(torch.randn(B, n, generator=g, dtype=torch.float64))
    A = q_a * math.sqrt(B)  # (1/B) A^T A = I
    U, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    S = torch.zeros(m, n, dtype=torch.float64)
    S[range(len(sigmas)), range(len(sigmas))] = torch.tensor(sigmas, dtype=torch.float64)
    M = U @ S @ V.T
    layer = nn.Linear(n, m, bias=False).double()
    nn.init.zeros_(layer.weight)
    return nn.Sequential(layer), A, A @ M.T


def _mse(o, t):
    return 0.5 * ((o - t) ** 2).sum(1)


def test_energy_quantity_matches_the_closed_form():
    sig = [3.0, 2.0, 1.0, 0.5, 0.25]
    model, x, y = _planted(sig)
    for k, want in ((2, (9 + 4) / sum(s * s for s in sig)), (5, 1.0)):
        rec = run_layers(model, _mse, x, y, layer_types={"0": "dense"}, k=k, kron=False, extras=("energy",))[0]
        assert rec["sigma"] == pytest.approx(sig[:k], rel=1e-12)
        assert rec["sigma_energy"] == pytest.approx(want, rel=1e-12)


def test_energy_quantity_declines_a_zero_gradient():
    model, x, y = _planted([1.0])
    y = model(x).detach()  # residuals 0: G = 0
    rec = run_layers(model, _mse, x, y, layer_types={"0": "dense"}, k=1, clamp_k=True, kron=False, extras=("energy",))[
        0
    ]
    assert rec["k"] == 0 and "sigma_energy" not in rec
    assert "sigma_energy not computed: zero gradient" in rec["diagnostics"]["notes"]
    assert rec["fits"] is not None


def test_settings_are_checked():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        MeasureSettings(k=0)
    with pytest.raises(ValueError, match="chunk_size"):
        MeasureSettings(chunk_size=0)
