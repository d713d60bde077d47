"""The benchmark's two methods agree: engine ``exact_curvatures`` vs the paper's protocol (float64, 1e-10).

Only agreement is checked here, never timing (timings live in benchmarks/README.md).
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from benchmarks import methods
from benchmarks.curvature_speed import main as bench_main
from benchmarks.workloads import build_workload, make_directions, select_layers
from empirics import curvature

ENGINE_METHODS = [None] + [m for m in getattr(curvature, "METHODS", ()) if m != "auto"]


@pytest.fixture(scope="module")
def tiny():
    work = build_workload("tiny", batch=6, dtype=torch.float64)
    layers = select_layers(work.model, "all")
    dirs, info = make_directions(work, layers, 3)
    return work, dirs, info


@pytest.mark.parametrize("method", ENGINE_METHODS, ids=lambda m: m or "default")
def test_engine_agrees_with_paper_protocol_float64(tiny, method):
    work, dirs, info = tiny
    assert set(dirs) == {"0", "4"} and all(v["k"] == 3 for v in info.values())
    paper = methods.paper_curvatures(work, dirs)
    engine = methods.engine_curvatures(work, dirs, method=method)
    agree = methods.max_relative_difference(paper, engine)
    assert agree["n_nonfinite"] == 0
    assert all(paper[n].abs().max() > 0 for n in paper)  # a non-trivial comparison
    assert agree["max_rel"] <= methods.TOLERANCE[torch.float64], agree


def test_smallconv_default_path_takes_the_output_adjoint_form_and_agrees():
    """The benchmark's small conv net with 24 directions and 10 classes: the default engine measures all three
    layers from shared output adjoints (empirics.curvature.adjoint), and agrees with the paper's loop."""
    work = build_workload("smallconv", batch=8, dtype=torch.float64)
    dirs, _ = make_directions(work, select_layers(work.model, "all"), 8)
    paper = methods.paper_curvatures(work, dirs)
    results = methods.engine_results(work, dirs)
    assert all(results[n].gn_form.startswith("reverse") for n in dirs), results
    engine = methods.values_of(results)
    agree = methods.max_relative_difference(paper, engine)
    assert agree["max_rel"] <= methods.TOLERANCE[torch.float64], agree


def test_tiny_gpt2_lm_agrees():
    """The attention/LM path of the benchmark (per-sequence mean token loss), a 1-block GPT-2."""
    work = build_workload("gpt2", batch=2, dtype=torch.float64, width=8, context=6, n_layer=1)
    dirs, _ = make_directions(work, select_layers(work.model, "all"), 2)
    assert len(dirs) >= 4
    agree = methods.max_relative_difference(methods.paper_curvatures(work, dirs), methods.engine_curvatures(work, dirs))
    assert agree["max_rel"] <= 1e-10, agree


def test_agreement_metric_detects_disagreement():
    ref = {"a": torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64), "b": torch.tensor([0.0, 3.0], dtype=torch.float64)}
    same = {n: v.clone() for n, v in ref.items()}
    assert methods.max_relative_difference(ref, same)["max_rel"] == 0.0
    off = {n: v.clone() for n, v in ref.items()}
    off["a"][2] *= 1 + 1e-8
    r = methods.max_relative_difference(ref, off)
    assert r["max_rel"] == pytest.approx(1e-8, rel=1e-6) and r["worst"] == ("a", 2)
    assert r["max_rel"] > methods.TOLERANCE[torch.float64]
    off["b"][0] = 1e-30  # a zero reference that is not matched
    assert math.isinf(methods.max_relative_difference(ref, off)["max_rel"])
    nan = {n: v.clone() for n, v in ref.items()}
    nan["b"][1] = float("nan")
    r = methods.max_relative_difference(ref, nan)
    assert math.isinf(r["max_rel"]) and r["n_nonfinite"] == 1
    assert r["n_nonpositive_ref"] == 2  # -1.0 and 0.0 are reported, not dropped
    with pytest.raises(ValueError, match="layer sets differ"):
        methods.max_relative_difference(ref, {"a": ref["a"]})


def test_metric_is_relative_to_the_layer_scale_and_skips_directions_beyond_the_rank():
    ref = {"a": torch.tensor([4.0, 1e-9, 3e-18], dtype=torch.float64)}
    other = {"a": torch.tensor([4.0, 1.1e-9, -5e-18], dtype=torch.float64)}
    r = methods.max_relative_difference(ref, other, ranks={"a": 2})
    assert r["max_rel_to_layer_scale"] == pytest.approx(1e-10 / 4.0, rel=1e-6)  # not 0.1 (pointwise)
    assert r["max_rel"] == pytest.approx(0.1, rel=1e-6)
    assert r["n_excluded"] == 1 and r["excluded"]["a"]["k"] == [2] and r["excluded"]["a"]["other"] == [-5e-18]
    assert methods.max_relative_difference(ref, other)["max_rel_to_layer_scale"] == pytest.approx(2.5e-11)
    bad = {"a": torch.tensor([4.0, 1e-9, 1.0], dtype=torch.float64)}  # a real disagreement within the rank
    assert methods.max_relative_difference(ref, bad, ranks={"a": 3})["max_rel_to_layer_scale"] == pytest.approx(0.25)


def test_k_beyond_the_heads_rank_passes_and_is_reported(tmp_path, capsys):
    """10 classes: the head's cross-entropy gradient has rank <= 9, so its 10th direction has h ~ 1e-18 in both
    methods; it is excluded from the metric (and listed), the rest must agree (issue 17: this used to FAIL)."""
    out = tmp_path / "bench.json"
    argv = ["--model", "tiny", "--batch", "16", "--k", "10", "--repeats", "1", "--skip-whole", "--no-memory"]
    assert bench_main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "-> PASS" in printed and "beyond the gradient's numerical rank not compared (4: k=10..10)" in printed
    rec = json.loads(out.read_text())
    assert rec["layers"]["4"]["rank"] == 9 and rec["agreement"]["n_excluded"] == 1


def test_script_reports_pass_on_tiny_model(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--model", "tiny", "--batch", "4", "--k", "2", "--repeats", "1", "--skip-whole", "--no-memory"]
    assert bench_main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "-> PASS" in printed and "gradient-equivalents" in printed
    rec = json.loads(out.read_text())
    assert rec["agreement"]["pass"] is True and rec["agreement"]["max_rel_to_layer_scale"] <= 1e-10
    assert rec["n_directions"] == 4 and rec["ratios"]["speedup_curvature"] > 0


def test_script_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_main(["--model", "tiny", "--batch", "0", "--k", "2"])
    assert exc.value.code == 2
    assert bench_main(["--model", "nope", "--batch", "2", "--k", "1"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        bench_main(["--model", "tiny", "--batch", "2", "--k", "1", "--max-memory", "lots"])
    assert exc.value.code == 2 and "--max-memory 'lots'" in capsys.readouterr().err
    assert bench_main(["--model", "tiny", "--batch", "2", "--k", "1", "--only", "9"]) == 2
    assert "--only: no layer '9'" in capsys.readouterr().err
