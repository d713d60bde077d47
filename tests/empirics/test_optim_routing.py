"""Parameter routing: tied embedding/head weights recognised once (AdamW by default, the matrix optimizer on
request), never optimised twice; HuggingFace GPT2LMHeadModel from a tiny config; free tensors; ``routes``."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from empirics.optim import ADAMW_LR, Muon, SpectralNewton, build_optimizer, split_parameters
from empirics.zoo import build_model
from tests.empirics.test_zoo import TINY

pytestmark = pytest.mark.usefixtures("float64_one_thread")


class TiedLM(nn.Module):
    """GPT-style: token embedding, one hidden Linear, LayerNorm, and a head whose weight *is* the embedding."""

    def __init__(self, vocab=11, dim=6):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.ln = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        return self.lm_head(self.ln(torch.tanh(self.mix(self.wte(idx)))))


def _tied(seed=0):
    torch.manual_seed(seed)
    return TiedLM()


def _lm_grads(model, seed):
    idx = torch.randint(0, 11, (4, 5), generator=torch.Generator().manual_seed(seed))
    model.zero_grad()
    nn.functional.cross_entropy(model(idx).flatten(0, 1), torch.roll(idx, -1, 1).flatten()).backward()


def _occurrences(opt, p):
    return sum(q is p for g in opt.param_groups for q in g["params"])


@pytest.mark.parametrize("cls", [SpectralNewton, Muon])
def test_tied_embedding_goes_to_adamw_once_by_default(cls):
    model = _tied()
    assert model.lm_head.weight is model.wte.weight
    opt = cls(model, lr=0.02)
    assert [g["name"] for g in opt.matrix_groups] == ["mix.weight"]
    assert opt.routing["wte.weight"] == ("adamw", "embedding tied to lm_head.weight (tied_embeddings='adamw')")
    assert _occurrences(opt, model.wte.weight) == 1
    # the tied tensor takes exactly one AdamW step per step (on its gradient, the sum over both uses), at adamw_lr
    _lm_grads(model, 0)
    assert model.wte.weight.grad is model.lm_head.weight.grad
    twin = copy.deepcopy(model.wte.weight)
    ref = torch.optim.AdamW([twin], lr=ADAMW_LR, weight_decay=opt.adamw.defaults["weight_decay"])
    for seed in range(3):
        _lm_grads(model, seed)
        twin.grad = model.wte.weight.grad.clone()
        opt.step()
        ref.step()
    torch.testing.assert_close(model.wte.weight, twin, rtol=0, atol=0)


def test_tied_embeddings_matrix_sends_the_tensor_to_sn_once_as_the_head():
    model = _tied()
    opt = SpectralNewton(model, lr=0.1, alpha="layer_type", tied_embeddings="matrix", momentum=0.0)
    by_name = {g["name"]: g for g in opt.matrix_groups}
    assert set(by_name) == {"mix.weight", "wte.weight"}
    assert by_name["wte.weight"]["layer_type"] == "head" and by_name["wte.weight"]["alpha"] == 1.44
    assert opt.routing["wte.weight"].kind == "matrix" and "Linear lm_head" in opt.routing["wte.weight"].reason
    assert _occurrences(opt, model.wte.weight) == 1
    w0 = model.wte.weight.detach().clone()
    _lm_grads(model, 0)
    g = model.wte.weight.grad.clone()
    opt.step()
    from empirics.optim import sn_svd

    torch.testing.assert_close(model.wte.weight.detach(), w0 - 0.1 * sn_svd(g, 1.44, 0.1), rtol=0, atol=1e-12)
    # α by the alias
    assert SpectralNewton(model, alpha={"lm_head.weight": 0.9}, tied_embeddings="matrix").alphas["wte.weight"] == 0.9


def test_routes_by_any_alias_and_their_errors():
    model = _tied()
    opt = SpectralNewton(model, routes={"lm_head.weight": "matrix", "mix.weight": "adamw"})
    assert [g["name"] for g in opt.matrix_groups] == ["wte.weight"]
    assert opt.routing["mix.weight"] == ("adamw", "routes argument")
    for kw, msg in [
        ({"routes": {"nope.weight": "adamw"}}, "routes names no parameter: nope.weight"),
        ({"routes": {"mix.weight": "sgd"}}, "every value of routes must be one of adamw, matrix"),
        ({"routes": {"ln.weight": "matrix"}}, "routes asks 'matrix' for parameter 'ln.weight', but it is not a matrix"),
        ({"routes": {"wte.weight": "adamw", "lm_head.weight": "matrix"}}, "different routes"),
        ({"tied_embeddings": "both"}, "tied_embeddings must be one of adamw, matrix"),
    ]:
        with pytest.raises(ValueError, match=msg):
            SpectralNewton(model, **kw)
    untied = nn.Sequential(nn.Embedding(5, 3))
    with pytest.raises(ValueError, match="but it is an embedding table"):
        SpectralNewton(untied, routes={"0.weight": "matrix"})


def test_weights_tied_between_layers_that_read_them_differently_are_refused():
    Conv1D = pytest.importorskip("transformers.pytorch_utils").Conv1D
    model = nn.Sequential(nn.Linear(4, 4), Conv1D(4, 4))
    model[1].weight = model[0].weight  # W in one, Wᵀ in the other
    with pytest.raises(ValueError, match="tied between layers that read it as different matrices"):
        SpectralNewton(model)
    shared = nn.Linear(4, 4)
    twice = nn.Sequential(shared, nn.Tanh(), shared)  # the same module twice: one tensor, one matrix
    assert [g["name"] for g in SpectralNewton(twice).matrix_groups] == ["0.weight"]


def test_named_pairs_refuse_a_tensor_passed_twice():
    model = _tied()
    pairs = [("wte.weight", model.wte.weight), ("lm_head.weight", model.lm_head.weight)]
    with pytest.raises(ValueError, match="'lm_head.weight' is the tensor 'wte.weight' again"):
        split_parameters(pairs)
    split = split_parameters(
        [("a.weight", nn.Parameter(torch.zeros(3, 2))), ("tok_embed", nn.Parameter(torch.zeros(4, 2)))]
    )
    assert [mp.name for mp in split.matrix] == ["a.weight"]
    assert split.routing["tok_embed"] == ("adamw", "name contains 'embed'")


def test_free_tensors_vectors_and_embeddings_are_named_in_the_routing():
    vit = build_model("vit_tiny", num_classes=5, image_size=16, **TINY["vit_tiny"])
    routing = SpectralNewton(vit).routing
    assert routing["pos_embed"] == routing["cls_token"] == ("adamw", "free tensor (not a layer weight)")
    assert routing["patch_embed.proj.bias"] == ("adamw", "vector")
    assert routing["patch_embed.proj.weight"].kind == "matrix"
    assert set(routing) == {n for n, p in vit.named_parameters()}
    gpt = build_model("gpt2", num_classes=5, **TINY["gpt2"])
    routing = SpectralNewton(gpt).routing
    assert routing["tok_emb.weight"] == routing["pos_emb.weight"] == ("adamw", "embedding")
    assert routing["head.weight"].kind == "matrix"  # not tied in the zoo's GPT-2


def test_frozen_parameters_are_not_routed():
    model = _tied()
    model.mix.weight.requires_grad_(False)
    opt = SpectralNewton(model)
    assert "mix.weight" not in opt.routing and opt.matrix_groups == []


# ------------------------------------------------------------------------------------ HuggingFace GPT-2
def _hf_gpt2(seed=0):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(
        n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=16, bos_token_id=0, eos_token_id=0
    )
    model = transformers.GPT2LMHeadModel(cfg).to(torch.float64)
    return model


@pytest.mark.parametrize("tied_embeddings", ["adamw", "matrix"])
def test_hf_gpt2_tied_head_conv1d_and_a_few_steps(tied_embeddings):
    model = _hf_gpt2()
    wte = model.transformer.wte.weight
    assert model.lm_head.weight is wte
    opt = build_optimizer("sn", model, lr=0.02, weight_decay=0.0, tied_embeddings=tied_embeddings)
    conv1d = [
        f"transformer.h.{i}.{m}.weight"
        for i in range(2)
        for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
    ]
    names = [g["name"] for g in opt.matrix_groups]
    assert names == (["transformer.wte.weight"] if tied_embeddings == "matrix" else []) + conv1d  # model order
    # c_attn is read as (3·16) × 16: m = out, n = in
    assert opt.views[model.transformer.h[0].attn.c_attn.weight].to_matrix(
        model.transformer.h[0].attn.c_attn.weight
    ).shape == (48, 16)
    assert opt.routing["transformer.wpe.weight"] == ("adamw", "embedding")
    assert opt.routing["transformer.wte.weight"].kind == tied_embeddings
    every = [p for g in opt.param_groups for p in g["params"]]
    assert len(every) == len({id(p) for p in every}) == len(list(model.parameters()))  # each tensor once
    assert _occurrences(opt, wte) == 1
    idx = torch.randint(0, 50, (4, 12), generator=torch.Generator().manual_seed(0))
    model.train()
    losses = []
    for _ in range(8):
        opt.zero_grad()
        out = model(idx, labels=idx)
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert losses[-1] < losses[0], losses
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied


def test_hf_gpt2_muon_routes_alike():
    model = _hf_gpt2()
    opt = Muon(model, lr=0.02)
    assert len(opt.matrix_groups) == 8 and opt.routing["transformer.wte.weight"].kind == "adamw"
