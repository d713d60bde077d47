"""The one layer-kind table: matrix views (HF Conv1D transposed, grouped conv, MHA, Embedding), tangent maps
D ⋆ a against the module's own map, Kronecker support with reasons, discovery with tied weights, and that
layer resolution, zoo tags, the adjoint form and the Kronecker collector agree with it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirics import layerkinds as LK
from empirics.layers import discover, locate, resolve_layers
from empirics.zoo import tag
from tests.cases import require_transformers


def _conv1d_hf():
    require_transformers()
    from transformers.pytorch_utils import Conv1D

    return Conv1D(5, 3)  # nf = 5 outputs, nx = 3 inputs: weight (3, 5)


@pytest.mark.parametrize(
    "module, shape",
    [
        (nn.Linear(3, 5), (5, 3)),
        (nn.Conv1d(4, 6, 3), (6, 12)),
        (nn.Conv2d(4, 6, (2, 3)), (6, 24)),
        (nn.Conv3d(2, 4, 2), (4, 16)),
        (nn.Conv2d(4, 8, 3, groups=2), (8, 18)),
        (nn.Conv2d(4, 4, 3, groups=4), (4, 9)),
        (nn.Embedding(7, 3), (7, 3)),
    ],
)
def test_matrix_view_and_back(module, shape):
    W = LK.matrix_view(module)
    assert tuple(W.shape) == shape
    assert torch.equal(LK.matrix_to_param(W, module), module.weight)
    stack = torch.stack([W, 2 * W])
    assert torch.equal(LK.matrix_to_param(stack, module)[1], 2 * module.weight)


def test_hf_conv1d_is_a_transposed_linear():
    conv = _conv1d_hf().double()
    W = LK.matrix_view(conv)
    assert tuple(W.shape) == (5, 3) and torch.equal(W, conv.weight.T)
    x = torch.randn(4, 3, dtype=torch.float64)
    assert torch.allclose(conv(x) - conv.bias, x @ W.T)
    assert LK.kind_of(conv).name == "hf_conv1d" and LK.kron_decline(conv) is None


def test_mha_in_proj_and_out_proj():
    mha = nn.MultiheadAttention(8, 2)
    kinds = {(n, p): k.name for n, p, k in LK.measurable_params(nn.Sequential(mha))}
    assert kinds == {("0", "in_proj_weight"): "mha_in_proj", ("0.out_proj", "weight"): "mha_out_proj"}
    assert tuple(LK.matrix_view(mha, "in_proj_weight").shape) == (24, 8)
    assert "inside the attention op" in LK.kron_decline(mha, "in_proj_weight")
    assert "inside the attention op" in LK.kron_decline(mha.out_proj, inside_mha=True)
    assert isinstance(LK.tangent_map(mha, "in_proj_weight"), str)


@pytest.mark.parametrize(
    "module, x",
    [
        (nn.Linear(3, 5), torch.randn(2, 4, 3)),
        (nn.Conv1d(4, 6, 3, stride=2), torch.randn(2, 4, 9)),
        (nn.Conv2d(4, 8, 3, groups=2, padding=1), torch.randn(2, 4, 5, 5)),
        (nn.Conv3d(2, 4, 2), torch.randn(1, 2, 3, 3, 3)),
        (nn.Embedding(7, 3), torch.tensor([[1, 2], [6, 0]])),
    ],
)
def test_tangent_map_is_the_module_map_without_bias(module, x):
    t = LK.tangent_map(module)
    assert callable(t)
    D = torch.randn_like(module.weight)
    with torch.no_grad():
        module.weight.copy_(D)
        if getattr(module, "bias", None) is not None:
            module.bias.zero_()
        assert torch.allclose(t(x, D), module(x), atol=1e-6)


def test_kron_support_and_reasons():
    assert LK.kron_decline(nn.Linear(3, 4)) is None and LK.kron_decline(nn.Conv2d(3, 4, 3)) is None
    assert "groups=2" in LK.kron_decline(nn.Conv2d(4, 4, 3, groups=2))
    assert "Conv1d" in LK.kron_decline(nn.Conv1d(4, 4, 3))
    assert "index" in LK.kron_decline(nn.Embedding(4, 3))
    assert LK.conv_geometry(nn.Conv2d(2, 3, 3, padding=1)).pad == (1, 1, 1, 1)
    assert LK.conv_geometry(nn.Linear(2, 3)) is None


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 6)
        self.mid = nn.Linear(6, 6)
        self.head = nn.Linear(6, 11, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, x):
        return self.head(torch.relu(self.mid(self.emb(x))))


def test_discover_lists_every_matrix_weight_once_with_tied_uses():
    layers = discover(Tied())
    assert list(layers) == ["emb", "mid"]
    assert layers["emb"].uses == ("emb.weight", "head.weight") and layers["emb"].tied
    assert resolve_layers(Tied()) == {"emb": "head", "mid": "dense"}
    assert locate(Tied(), "head").key == "emb.weight"  # the other use resolves to the same parameter
    plain = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 4))
    assert list(discover(plain)) == ["1"] and list(discover(plain, embeddings=True)) == ["0", "1"]


def test_resolution_errors_name_the_layer():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4))
    with pytest.raises(ValueError, match="layer 'nope' is not a module or parameter"):
        resolve_layers(model, {"nope": "dense"})
    with pytest.raises(ValueError, match="layer '2' .*has no matrix weight"):
        resolve_layers(model, {"2": "dense"})
    with pytest.raises(ValueError, match="unknown layer type"):
        resolve_layers(model, {"0": "bogus"})


def test_zoo_tags_accept_every_kind_of_the_table():
    for module in (nn.Linear(2, 3), nn.Conv1d(2, 3, 1), nn.Conv3d(2, 3, 1), nn.Embedding(4, 2)):
        assert tag(module, "dense") is module
    with pytest.raises(TypeError, match="matrix weight"):
        tag(nn.LayerNorm(3), "dense")


def test_default_types_from_names():
    assert LK.default_type("layer2.0.downsample.0", LK.kind_of(nn.Conv2d(2, 2, 1))) == "downsample"
    assert LK.default_type("h.0.attn.c_attn", LK.HF_CONV1D) == "attn_qkv"
    assert LK.default_type("h.0.attn.c_proj", LK.HF_CONV1D) == "attn_proj"
    assert LK.default_type("h.0.mlp.c_fc", LK.HF_CONV1D) == "mlp_up"
    assert LK.default_type("h.0.mlp.c_proj", LK.HF_CONV1D) == "mlp_down"
    assert LK.default_type("encoder.layer.0.intermediate.dense", LK.LINEAR) == "mlp_up"
    assert LK.default_type("encoder.layer.0.output.dense", LK.LINEAR) == "mlp_down"
    assert LK.default_type("encoder.layer.0.attention.output.dense", LK.LINEAR) == "attn_proj"
    assert LK.default_type("classifier", LK.LINEAR) == "head"


def test_kron_collector_reads_the_table_for_hf_conv1d():
    """The Kronecker collector uses the table's matrix view: on a transposed HF Conv1D its G equals
    autograd's gradient in the (out, in) view."""
    from empirics.kron import collect_layer_io
    from tests.cases import ce

    torch.manual_seed(0)
    model = nn.Sequential(_conv1d_hf(), nn.Tanh(), nn.Linear(5, 4)).double().eval()
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randint(0, 4, (6,))
    io = collect_layer_io(model, ce, x, y, "0", gn_samples=2)
    assert (io.m, io.n) == (5, 3) and io.g_residual < 1e-12
    assert tuple(io.C_delta.shape) == (5, 5) and tuple(io.C_delta_gn.shape) == (5, 5) and tuple(io.C_A.shape) == (3, 3)
