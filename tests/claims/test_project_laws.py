"""Law claims are evaluated on the project's own ``sad-results/1`` files: synthetic files whose conv
layers have α ≈ 2, or not, decide the verdict; a folder with only project files is usable input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from claims.bundle import Bundle
from claims.evaluate import evaluate
from claims.model import FAILS, HOLDS, INCONCLUSIVE, NO_DATA
from claims.registry import REGISTRY
from empirics.schema import SCHEMA_VERSION, validate


def layer(name: str, typ: str, alpha: float, k: int = 20, seed: int = 0, gamma: float = 1.0) -> dict:
    rng = np.random.default_rng(seed)
    sigma = [float(j**-gamma) for j in range(1, k + 1)]
    h = [float(s**alpha * math.exp(0.02 * rng.standard_normal())) for s in sigma]
    return {"name": name, "layer_type": typ, "shape": [64, 27], "k": k, "sigma": sigma, "h_exact": h}


def project_file(layers: list[dict], arch: str = "resnet18") -> dict:
    doc = {
        "schema": SCHEMA_VERSION,
        "complete": True,
        "run": {
            "model": f"{arch}_cifar",
            "architecture": arch,
            "dataset": "digits",
            "dataset_kind": "real",
            "n_classes": 10,
            "task": "classification",
            "batch_size": 512,
            "k": 20,
            "dtype": "float64",
            "device": "cpu",
            "seed": 0,
        },
        "provenance": {"created": "2026-01-01T00:00:00Z"},
        "layers": layers,
    }
    validate(doc)
    return doc


def write(tmp_path, docs: dict[str, dict]):
    for name, doc in docs.items():
        (tmp_path / name).write_text(json.dumps(doc))
    return Bundle(tmp_path)


CONV = REGISTRY["abs.alpha.conv_approx2"]


def test_conv_law_holds_on_project_conv_alpha_2(tmp_path):
    b = write(tmp_path, {"run1.json": project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(5)])})
    b.check_usable()
    out = evaluate(CONV, b)
    assert out.verdict == HOLDS and out.measured == (1, 1)
    assert all(r.startswith("run1.json/") for r in out.records)


def test_conv_law_fails_on_project_conv_alpha_1_6_and_names_violator(tmp_path):
    b = write(
        tmp_path,
        {
            "good.json": project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(5)]),
            "bad.json": project_file([layer(f"c{i}", "conv", 1.6, seed=i) for i in range(5)], arch="vgg11"),
        },
    )
    out = evaluate(CONV, b)
    assert out.verdict == FAILS and out.measured == (1, 2)
    assert any(v.startswith("bad.json") for v in out.violators) and not any(
        v.startswith("good.json") for v in out.violators
    )


def test_downsample_layers_count_as_conv(tmp_path):
    layers = [layer(f"c{i}", "conv", 2.0, seed=i) for i in range(3)] + [
        layer(f"d{i}", "downsample", 2.6, seed=9 + i) for i in range(4)
    ]
    out = evaluate(CONV, write(tmp_path, {"r.json": project_file(layers)}))
    # the median over the 7 conv-type layers is 2.6 (over the 3 conv-only ones it would be 2.0) …
    assert out.point_verdict == FAILS and out.candidates[0].value == pytest.approx(2.6, abs=0.01)
    assert out.candidates[0].n == 7
    # … and with 3 layers at 2.0 among 7, resampling the layers can move the median into the band
    assert out.verdict == INCONCLUSIVE


def test_law_without_applicable_layers_is_no_data(tmp_path):
    b = write(tmp_path, {"r.json": project_file([layer("c0", "conv", 2.0)])})
    assert evaluate(REGISTRY["abs.alpha.attention_approx1"], b).verdict == NO_DATA
    assert evaluate(REGISTRY["abs.alpha.mlp_up_lt1"], b).verdict == NO_DATA


@pytest.mark.parametrize("alpha,verdict", [(0.8, HOLDS), (1.2, FAILS)])
def test_mlp_up_law_on_project(tmp_path, alpha, verdict):
    b = write(
        tmp_path, {"r.json": project_file([layer(f"u{i}", "mlp_up", alpha, seed=i) for i in range(3)], arch="gpt2")}
    )
    assert evaluate(REGISTRY["abs.alpha.mlp_up_lt1"], b).verdict == verdict


def test_number_claims_ignore_project_files(tmp_path):
    b = write(tmp_path, {"r.json": project_file([layer("c0", "conv", 2.0)])})
    assert evaluate(REGISTRY["t1.tiny.conv.mean_alpha"], b).verdict == NO_DATA


def test_invalid_project_file_is_an_input_error(tmp_path):
    doc = project_file([layer("c0", "conv", 2.0)])
    doc["layers"][0]["layer_type"] = "convolution"
    b = write(tmp_path, {"r.json": doc})
    from claims.errors import InputError

    with pytest.raises(InputError, match=r"r.json: \$.layers\[0\].layer_type"):
        b.check_usable()


def test_project_fit_that_disagrees_fails_the_file_integrity_check(tmp_path):
    """A stored fit that disagrees with the refit is a failing integrity check (no longer a text note)."""
    from claims.integrity import integrity_claims

    lay = layer("c0", "conv", 2.0)
    lay["fits"] = {"alpha": 1.5}
    b = write(tmp_path, {"r.json": project_file([lay, layer("c1", "conv", 2.0, seed=1)])})
    (check,) = integrity_claims(b)
    out = evaluate(check, b)
    assert check.id == "integrity.r.json" and out.verdict == FAILS and out.measured == (0, 1)
    assert out.violators and out.violators[0].startswith("$.layers[0].fits.alpha: stored 1.5, recomputed 2.0")
    conv = evaluate(CONV, b)  # the claims that rest on the file say so
    assert any(n.startswith("integrity: r.json has 1 stored field") for n in conv.notes)


@pytest.mark.parametrize("alpha,verdict", [(1.4, HOLDS), (2.5, FAILS)])
def test_softmax_head_law_on_project(tmp_path, alpha, verdict):
    head = layer("fc", "head", alpha)
    head["shape"] = [10, 512]
    b = write(tmp_path, {"r.json": project_file([layer("c0", "conv", 2.0), head])})
    assert evaluate(REGISTRY["add.softmax.few_class_lt2"], b).verdict == verdict


def test_lm_heads_are_not_classification_heads(tmp_path):
    head = layer("lm_head", "head", 3.0)
    head["shape"] = [10, 128]  # a 10-token vocabulary is still not a 10-class softmax classifier
    doc = project_file([head], arch="gpt2")
    doc["run"]["task"] = "lm"
    assert evaluate(REGISTRY["add.softmax.few_class_lt2"], write(tmp_path, {"r.json": doc})).verdict == NO_DATA


def _checkpoint(doc: dict, run_name: str, epoch: int) -> dict:
    doc["run"].update(run_name=run_name, epoch=epoch)
    validate(doc)
    return doc


def test_law_claims_use_only_the_last_checkpoint_of_a_trajectory(tmp_path):
    # epoch 0 (conv α = 1.5) is an earlier checkpoint of the same run as epoch 10 (conv α = 2.0):
    # it is not a separate trained network, so the conv law judges only epoch 10.
    early = _checkpoint(project_file([layer(f"c{i}", "conv", 1.5, seed=i) for i in range(5)]), "r18", 0)
    final = _checkpoint(project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(5)]), "r18", 10)
    b = write(tmp_path, {"r18_e0.json": early, "r18_e10.json": final})
    out = evaluate(CONV, b)
    assert out.verdict == HOLDS and out.measured == (1, 1)
    assert all(r.startswith("r18_e10.json/") for r in out.records)
    # the same two files as two separate runs are two networks, and the α = 1.5 one violates the law
    early["run"]["run_name"] = "other"
    out = evaluate(CONV, write(tmp_path, {"r18_e0.json": early}))
    assert out.verdict == FAILS and out.measured == (1, 2)


def test_softmax_law_reports_an_unfitted_head_instead_of_judging_it(tmp_path):
    soft = REGISTRY["add.softmax.few_class_lt2"]
    fitted = layer("fc", "head", 1.2)
    fitted["shape"] = [10, 64]
    unfitted = {"name": "head", "layer_type": "head", "shape": [2, 64], "k": 1, "sigma": [0.3], "h_exact": [0.1]}
    docs = {"a.json": project_file([fitted]), "b.json": project_file([unfitted], arch="gpt2")}
    out = evaluate(soft, write(tmp_path, docs))
    assert out.verdict == HOLDS and out.measured == (1, 1)
    assert any("not judged" in n and "b.json/head" in n for n in out.notes)
    # and the law still fails when a fitted few-class head has α ≥ 2
    bad = layer("fc", "head", 2.4)
    bad["shape"] = [10, 64]
    docs["c.json"] = project_file([bad], arch="vgg11")
    out = evaluate(soft, write(tmp_path, docs))
    assert out.verdict == FAILS and any("c.json/fc" in v for v in out.violators)


def _trajectory(tmp_path, conv_last: float, head_first: float, head_last: float):
    """A two-checkpoint training run: conv α 1.5 → conv_last, head α head_first → head_last."""

    def ckpt(epoch, conv_alpha, head_alpha):
        head = layer("fc", "head", head_alpha, seed=9)
        head["shape"] = [10, 64]
        return _checkpoint(
            project_file([layer(f"c{i}", "conv", conv_alpha, seed=i) for i in range(3)] + [head]), "r", epoch
        )

    return write(tmp_path, {"r_e0.json": ckpt(0, 1.5, head_first), "r_e9.json": ckpt(9, conv_last, head_last)})


APP_E = REGISTRY["appE.conv_converges_fc_decreases"]


@pytest.mark.parametrize(
    "conv_last, head_first, head_last, verdict",
    [(2.0, 2.0, 1.1, HOLDS), (1.6, 2.0, 1.1, FAILS), (2.0, 1.1, 2.0, FAILS)],
)
def test_training_trajectory_law(tmp_path, conv_last, head_first, head_last, verdict):
    out = evaluate(APP_E, _trajectory(tmp_path, conv_last, head_first, head_last))
    assert out.verdict == verdict, (out.measured, out.violators)


def test_training_trajectory_law_perturbation_flips_both_ways(tmp_path):
    from claims.perturb import Docs

    for conv_last, head_last, before in ((2.0, 1.1, HOLDS), (1.6, 2.3, FAILS)):
        folder = tmp_path / f"{before}_{conv_last}"
        folder.mkdir()
        out = evaluate(APP_E, _trajectory(folder, conv_last, 2.0, head_last))
        assert out.verdict == before
        docs = Docs(folder)
        APP_E.perturb(docs, out)
        after = evaluate(APP_E, Bundle(docs.write(folder / "perturbed")))
        assert after.verdict == (FAILS if before == HOLDS else HOLDS), (after.measured, after.violators)


def test_training_trajectory_law_is_no_data_without_a_trajectory(tmp_path):
    out = evaluate(APP_E, write(tmp_path, {"one.json": project_file([layer("c0", "conv", 2.0)])}))
    assert out.verdict == NO_DATA


def test_training_trajectory_without_head_layers_is_no_data_and_says_why(tmp_path):
    def ckpt(epoch):
        return _checkpoint(project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(3)]), "r", epoch)

    out = evaluate(APP_E, write(tmp_path, {"r_e0.json": ckpt(0), "r_e9.json": ckpt(9)}))
    assert out.verdict == NO_DATA
    assert any("not judged (needs conv and head layers" in n for n in out.notes), out.notes
