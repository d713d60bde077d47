"""The public ``empirics.measure`` API on models people use: hand-written (MHA + fused LayerNorm, SDPA + GELU,
GroupNorm + depthwise/grouped conv + GELU/SiLU, tied embedding/head, dict output) and HuggingFace models built
from tiny configs offline (GPT-2, ViT, BERT classifier). Each runs with no argument beyond (model, batch,
loss, k), measures every matrix weight (count asserted), and agrees with a dense float64 Hessian along the
returned U, V to 1e-8 relative to the layer's largest |h|. Plus: loss contract, soft failure, errors that
name Python arguments, progress lines, DataFrame, plot, save -> claims verify."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics import measure
from empirics.layers import locate
from empirics.measurement.losses import LossMismatch, per_sample_loss
from empirics.measurement.result import COLUMNS
from empirics.schema import validate
from tests import paths
from tests.cases import HF_CASES, USER_MODELS, reference_curvatures, require_transformers

RTOL = 1e-8


def _state(model: nn.Module):
    return model.training, [(p.dtype, p.requires_grad) for p in model.parameters()]


@pytest.mark.parametrize("case", list(USER_MODELS))
def test_measures_every_matrix_weight_and_agrees_with_a_dense_hessian(case):
    if case in HF_CASES:
        require_transformers()
    model, batch, loss, n_layers = USER_MODELS[case]()
    model.train()  # the engine measures an eval copy; the caller's mode must come back unchanged
    before = _state(model)
    m = measure(model, batch, loss, k=3)
    assert _state(model) == before
    assert len(m) == n_layers, list(m)
    assert m.errors == {}, m.errors
    model.eval()
    for name, r in m.layers.items():
        layer = locate(model, name)
        k = len(r.sigma)
        assert r.U.shape[1] == r.V.shape[1] == k >= 1 and len(r.h_exact) == k
        D = torch.einsum("mk,nk->kmn", torch.from_numpy(r.U), torch.from_numpy(r.V))
        D = layer.kind.from_matrix(D, tuple(model.get_parameter(layer.key).shape))
        ref = reference_curvatures(model, batch, loss, layer.key, D)
        scale = float(ref.abs().max())
        assert scale > 0, (case, name)
        err = float((torch.from_numpy(r.h_exact) - ref).abs().max()) / scale
        assert err <= RTOL, (case, name, err)


def test_mha_qkv_and_tied_weights_are_named_once():
    model, batch, loss, _ = USER_MODELS["mha_layernorm"]()
    m = measure(model, batch, loss, k=2, kron=False, progress=False)
    assert list(m) == ["attn.in_proj_weight", "attn.out_proj", "fc"]
    assert m["attn.in_proj_weight"].layer_type == "attn_qkv" and m["attn.out_proj"].layer_type == "attn_proj"
    assert m["attn.in_proj_weight"].record["shape"] == [24, 8]
    model, batch, loss, _ = USER_MODELS["tied_embedding_head"]()
    m = measure(model, batch, loss, k=2, progress=False)
    assert list(m) == ["emb", "mlp"] and m["emb"].layer_type == "head"
    assert any("tied weight: one parameter used as emb.weight, head.weight" in s for s in m["emb"].notes)
    assert any("kron sub-record not computed: tied weight" in s for s in m["emb"].notes)


def test_optional_records_decline_with_a_reason_and_the_rest_is_measured():
    model, batch, loss, _ = USER_MODELS["groupnorm_depthwise_grouped"]()
    m = measure(model, batch, loss, k=3, progress=False)
    notes = {n: " ".join(r.notes) for n, r in m.layers.items()}
    assert "grouped conv (groups=8)" in notes["3"] and "grouped conv (groups=2)" in notes["5"]
    assert "kron" not in m["3"].record and "kron" in m["0"].record and "h_gn" in m["3"].record


def test_dataframe_columns_and_rows():
    model, batch, loss, n = USER_MODELS["sdpa_gelu"]()
    df = measure(model, batch, loss, k=3, kron=False, progress=False).to_dataframe()
    assert list(df.columns) == list(COLUMNS) and len(df) == n
    assert set(df["type"]) == {"attn_qkv", "mlp_up", "mlp_down", "head"}
    assert df["error"].isna().all() and (df["k"] == 3).all()


def test_save_is_a_results_file_that_claims_verify_reads(tmp_path):
    model, batch, loss, _ = USER_MODELS["dict_output"]()
    m = measure(model, batch, loss, k=3, progress=False, run_info={"dataset": "toy"})
    path = m.save(tmp_path / "run.json")
    doc = json.loads(path.read_text())
    validate(doc)
    assert doc["complete"] and [r["name"] for r in doc["layers"]] == ["body", "out"]
    assert doc["run"]["dataset"] == "toy" and doc["run"]["task"] == "regression"
    r = subprocess.run(
        [sys.executable, "-m", "claims", "verify", "--results", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=paths.ROOT,
    )
    assert r.returncode in (0, 1), r.stderr
    assert any(rec.startswith("run.json/") for c in json.loads(r.stdout) for rec in c.get("records", []))


def test_plot_grid_and_one_layer(tmp_path):
    pytest.importorskip("matplotlib")
    model, batch, loss, _ = USER_MODELS["groupnorm_depthwise_grouped"]()
    m = measure(model, batch, loss, k=4, kron=False, progress=False)
    fig = m.plot(path=tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000
    assert sum(ax.get_visible() for ax in fig.axes) == 4
    one = m.plot("7")
    assert sum(ax.get_visible() for ax in one.axes) == 1


def test_loss_contract_reduction_and_vmap_give_the_same_per_sample_terms():
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(7, 4, generator=g, dtype=torch.float64), torch.randint(0, 4, (7,), generator=g)
    ref = F.cross_entropy(out, y, reduction="none")
    by_module = per_sample_loss(nn.CrossEntropyLoss(), out, y)
    by_vmap = per_sample_loss(F.cross_entropy, out, y)
    assert (by_module.how, by_vmap.how) == ("reduction", "vmap")
    assert torch.allclose(by_module(out, y), ref, rtol=0, atol=1e-14)
    assert torch.allclose(by_vmap(out, y), ref, rtol=0, atol=1e-14)
    t = torch.randn(7, 4, generator=g, dtype=torch.float64)
    mse_ref = ((out - t) ** 2).mean(1)
    assert torch.allclose(per_sample_loss(nn.MSELoss(), out, t)(out, t), mse_ref, atol=1e-14)
    assert torch.allclose(per_sample_loss(lambda o, t: ((o - t) ** 2).mean(), out, t)(out, t), mse_ref, atol=1e-14)
    lm_out, lm_y = torch.randn(3, 5, 6, generator=g, dtype=torch.float64), torch.randint(0, 6, (3, 5), generator=g)
    lm = per_sample_loss(lambda o, t: F.cross_entropy(o.reshape(-1, 6), t.reshape(-1)), lm_out, lm_y)
    want = F.cross_entropy(lm_out.reshape(-1, 6), lm_y.reshape(-1), reduction="none").view(3, 5).mean(1)
    assert torch.allclose(lm(lm_out, lm_y), want, atol=1e-14)


def test_loss_that_is_not_a_mean_of_per_sample_terms_is_refused():
    g = torch.Generator().manual_seed(1)
    out, y = torch.randn(6, 5, 4, generator=g, dtype=torch.float64), torch.randint(0, 4, (6, 5), generator=g)
    y[0, :4] = -100  # masked tokens: the mean runs over the unmasked ones, not over samples

    def masked(o, t):
        return F.cross_entropy(o.reshape(-1, 4), t.reshape(-1), ignore_index=-100)

    with pytest.raises(LossMismatch, match=r"^loss: .*not the mean of per-sample terms"):
        per_sample_loss(masked, out, y)
    with pytest.raises(LossMismatch, match="reduction='sum'"):
        per_sample_loss(nn.CrossEntropyLoss(reduction="sum"), out[:, 0], y[:, 1].clamp(min=0))


class _NoSecondOrder(torch.autograd.Function):
    """tanh with a once-differentiable backward and no forward-mode rule: no exact method can pass it."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Opaque(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 6), nn.Linear(6, 3)

    def forward(self, x):
        return self.b(_NoSecondOrder.apply(self.a(x)))


def test_a_failing_layer_becomes_an_error_row_and_the_others_are_kept(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    m = measure(Opaque(), (x, y), nn.CrossEntropyLoss(), k=2, progress=False)
    assert m["b"].ok and len(m["b"].h_exact) == 2
    assert not m["a"].ok and m["a"].error.startswith("layer 'a': ")
    assert m["a"].hint and "--" not in m["a"].error + m["a"].hint
    df = m.to_dataframe().set_index("layer")
    assert df.loc["a", "error"].startswith("layer 'a'") and df["error"].isna()["b"]
    assert "no exact method worked" in m["a"].error and "rev_rev: RuntimeError: layer 'a'" in m["a"].error
    assert "twice" in m["a"].hint
    doc = json.loads(m.save(tmp_path / "r.json").read_text())
    assert [r["name"] for r in doc["layers"]] == ["b"] and "a" in doc["provenance"]["settings"]["failed_layers"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"layers": ["nope"]}, "layers=: layer 'nope'"),
        ({"layers": "all"}, "layers='all'"),
        ({"layer_types": {"body": "bogus"}}, "layer_types=: layer 'body' has unknown type"),
        ({"output": "nope"}, "output='nope': not a key"),
        ({"method": "newton"}, "method='newton'"),
    ],
)
def test_errors_name_python_arguments(kwargs, message):
    model, batch, loss, _ = USER_MODELS["dict_output"]()
    kwargs = {"k": 2, **kwargs}
    with pytest.raises(ValueError) as exc:
        measure(model, batch, loss, progress=False, **kwargs)
    assert message in str(exc.value) and "--" not in str(exc.value)


def test_a_bare_module_and_inputs_it_cannot_take():
    torch.manual_seed(0)
    m = measure(
        nn.Linear(4, 3), (torch.randn(10, 4), torch.randint(0, 3, (10,))), nn.CrossEntropyLoss(), k=2, progress=False
    )
    assert list(m) == ["weight"] and m["weight"].ok
    with pytest.raises(ValueError, match="batch: the model fails on these inputs"):
        measure(nn.Linear(4, 3), (torch.randn(10, 5), torch.randn(10, 3)), nn.MSELoss(), k=1, progress=False)


def test_ambiguous_output_asks_for_output():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)

        def forward(self, x):
            return {"p": self.a(x), "q": self.a(x) * 2}

    x, y = torch.randn(4, 3), torch.randn(4, 2)
    with pytest.raises(ValueError, match="say which tensor to measure with output="):
        measure(Two(), (x, y), nn.MSELoss(), k=1, progress=False)
    m = measure(Two(), (x, y), nn.MSELoss(), k=1, output="q", progress=False, kron=False)
    assert list(m) == ["a"]


def test_progress_lines_without_carriage_returns(capsys):
    model, batch, loss, _ = USER_MODELS["sdpa_gelu"]()
    measure(model, batch, loss, k=3, kron=False, chunk_size=1)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "measure: layer 1/6 q" in err and "measure: layer 6/6 lm_head" in err
    assert "directions" in err  # chunk progress within a layer (chunk_size=1)


def test_importing_empirics_does_not_import_torch():
    code = "import sys, empirics; from empirics import measure; assert 'torch' not in sys.modules; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=paths.ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_layers_as_names_or_types_and_type_overrides():
    model, batch, loss, _ = USER_MODELS["mha_layernorm"]()
    m = measure(model, batch, loss, k=2, kron=False, layers=["fc", "attn.in_proj_weight"], progress=False)
    assert list(m) == ["attn.in_proj_weight", "fc"]  # model order
    m = measure(model, batch, loss, k=2, kron=False, layers={"fc": "dense"}, progress=False)
    assert list(m) == ["fc"] and m["fc"].layer_type == "dense"
    m = measure(model, batch, loss, k=2, kron=False, layer_types={"attn.out_proj": "dense"}, progress=False)
    assert m["attn.out_proj"].layer_type == "dense" and m["attn.in_proj_weight"].layer_type == "attn_qkv"


@pytest.mark.parametrize("method", ["fwd_fwd", "fwd_rev", "rev_rev"])
@pytest.mark.parametrize("case", ["mha_layernorm", "sdpa_gelu", "groupnorm_depthwise_grouped", "tied_embedding_head"])
def test_each_exact_method_runs_through_mha_sdpa_groupnorm_and_ties(case, method):
    """Forward-mode methods too: MHA's fused fast path, SDPA's fused kernels and fused group_norm are
    replaced inside the exact methods, so every method runs and agrees with the dense Hessian."""
    model, batch, loss, n_layers = USER_MODELS[case]()
    m = measure(model, batch, loss, k=2, method=method, gn=False, kron=False, progress=False)
    assert len(m) == n_layers and m.errors == {}
    model.eval()
    for name, r in m.layers.items():
        assert r.record["curvature_method"] == method
        layer = locate(model, name)
        D = torch.einsum("mk,nk->kmn", torch.from_numpy(r.U), torch.from_numpy(r.V))
        D = layer.kind.from_matrix(D, tuple(model.get_parameter(layer.key).shape))
        ref = reference_curvatures(model, batch, loss, layer.key, D)
        assert float((torch.from_numpy(r.h_exact) - ref).abs().max()) <= RTOL * float(ref.abs().max()), (name, method)


def test_a_memory_budget_keeps_the_values_and_one_too_small_fails_the_layers_naming_the_least():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    batch = (torch.randn(16, 6), torch.randint(0, 3, (16,)))
    free = measure(model, batch, nn.CrossEntropyLoss(), k=2, gn=False, kron=False, progress=False)
    roomy = measure(model, batch, nn.CrossEntropyLoss(), k=2, gn=False, kron=False, progress=False, max_memory=2**28)
    for name in ("0", "2"):
        assert roomy[name].error is None and roomy[name].h_exact == pytest.approx(free[name].h_exact, rel=1e-10)
    tiny = measure(model, batch, nn.CrossEntropyLoss(), k=2, gn=False, kron=False, progress=False, max_memory=64)
    assert "below what fwd_adj needs here" in tiny["0"].error and tiny["0"].h_exact is None
