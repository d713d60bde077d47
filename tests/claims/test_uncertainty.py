"""Intervals of the law verdicts on the project's measurements (docs/claims-reference.md §3.5): each of the
three verdicts arises from constructed data, the bootstrap resamples every level that varies (seeds, batches
within seed, layers for population statistics), it is deterministic, and the authors' files are judged as
before (no interval, never inconclusive)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from claims.bundle import Bundle
from claims.context import Bands, Context
from claims.errors import InputError
from claims.evaluate import evaluate
from claims.model import FAILS, HOLDS, INCONCLUSIVE, LAW
from claims.registry import REGISTRY
from claims.uncertainty.judge import Group, Region, Unit, band, below
from claims.uncertainty.resample import cell_weights, interval, point_weights, widening
from tests.claims.cases import PAPER, layer, needs_paper, project_file, replicated, verify, write

CONV = REGISTRY["abs.alpha.conv_approx2"]


def conv_net(seed_shift: float = 0.0, batch_sd: float = 0.0, base: float = 2.0, n_layers: int = 12, rng_seed: int = 0):
    """Conv layers α_ℓ = base + (layer offset) + seed effect + batch noise, as a layers_of(seed, batch) function."""
    offsets = np.linspace(-0.1, 0.1, n_layers)
    seed_eff = {0: -seed_shift, 1: 0.0, 2: seed_shift, 3: seed_shift / 2, 4: -seed_shift / 2}

    def layers_of(s: int, b: int) -> list[dict]:
        rng = np.random.default_rng([rng_seed, s, b])
        return [
            layer(f"c{i}", "conv", float(base + offsets[i] + seed_eff[s] + batch_sd * rng.standard_normal()), seed=i)
            for i in range(n_layers)
        ]

    return layers_of


def conv_outcome(tmp_path, layers_of, seeds=3, batches=5, ctx=None):
    b = Bundle(write(tmp_path, replicated("net", layers_of, seeds, batches)))
    return evaluate(CONV, b, ctx or Context())


# -- the three verdicts -------------------------------------------------------------------------------------
def test_holds_when_the_interval_lies_inside_the_band(tmp_path):
    out = conv_outcome(tmp_path, conv_net(seed_shift=0.02, batch_sd=0.02))
    (u,) = out.uncertainty.leaves()
    assert out.verdict == HOLDS and 1.85 < u.ci[0] < u.point < u.ci[1] < 2.15
    assert (u.n_seeds, u.n_batches, u.n_layers) == (3, 5, 12)
    assert out.uncertainty.counts()["n_networks"] == 1 and out.measured == (1, 1)


def test_fails_when_the_interval_lies_outside_the_band(tmp_path):
    out = conv_outcome(tmp_path, conv_net(base=1.5, seed_shift=0.02, batch_sd=0.02))
    assert out.verdict == FAILS and out.uncertainty.leaves()[0].ci[1] < 1.85


def test_inconclusive_when_the_interval_straddles_the_band(tmp_path):
    """Median α ≈ 1.9 (inside the band) but the seeds disagree by ±0.3: noise could decide either way."""
    out = conv_outcome(tmp_path, conv_net(base=1.9, seed_shift=0.3, batch_sd=0.02))
    (u,) = out.uncertainty.leaves()
    assert out.verdict == INCONCLUSIVE and out.point_verdict == HOLDS
    assert u.ci[0] < 1.85 < u.point < 2.15 and out.uncertainty.ci == (0.0, 1.0)


def test_every_count_most_and_some_rules():
    h, f, i = (Unit(x, 0.0, band(0, 1), ci) for x, ci in (("h", (0, 0.5)), ("f", (2, 3)), ("i", (0.5, 1.5))))
    assert (h.verdict, f.verdict, i.verdict) == (HOLDS, FAILS, INCONCLUSIVE)
    assert Group("g", "every", [h, h]).verdict == HOLDS
    assert Group("g", "every", [h, i]).verdict == INCONCLUSIVE
    assert Group("g", "every", [h, i, f]).verdict == FAILS
    assert Group("g", "most", [h, h, i]).verdict == HOLDS  # at least 2 of 3 > 1.5
    assert Group("g", "most", [h, i, i]).verdict == INCONCLUSIVE  # 1 to 3 of 3
    assert Group("g", "most", [h, f, i]).verdict == INCONCLUSIVE  # 1 to 2 of 3
    assert Group("g", "most", [h, f, f]).verdict == FAILS  # at most 1 of 3
    assert Group("g", "some", [f, i]).verdict == INCONCLUSIVE and Group("g", "some", [f, h]).verdict == HOLDS
    assert Group("g", "some", [f, f]).verdict == FAILS
    assert Group("g", "most", [h, i, f]).counts() == (1, 1, 3)


def test_regions_open_ends_and_outside():
    lt1 = below(1.0)
    assert lt1.judge(0.5, 0.99) == HOLDS and lt1.judge(0.5, 1.0) == INCONCLUSIVE and lt1.judge(1.0, 1.2) == FAILS
    out = Region(1.85, 2.15, outside=True)  # "deviates from the conv band"
    assert out.judge(2.5, 3.0) == HOLDS and out.judge(1.9, 2.0) == FAILS and out.judge(2.0, 2.5) == INCONCLUSIVE
    assert out.contains(1.0) and not out.contains(2.0) and out.text() == "outside [1.85, 2.15]"
    assert Region(0.95, 1.85, hi_open=True).text() == "[0.95, 1.85)"


# -- what is resampled --------------------------------------------------------------------------------------
def width(out) -> float:
    (u,) = out.uncertainty.leaves()
    return u.ci[1] - u.ci[0]


def test_between_seed_spread_gives_a_wide_interval_even_with_many_layers(tmp_path):
    """40 layers pin the median down within one seed; seeds shifting every layer by ±0.15 must still widen it."""
    calm = conv_outcome(tmp_path / "a", conv_net(n_layers=40, seed_shift=0.0, batch_sd=0.01))
    seedy = conv_outcome(tmp_path / "b", conv_net(n_layers=40, seed_shift=0.15, batch_sd=0.01))
    assert width(seedy) > 3 * width(calm) and width(seedy) > 0.3


def test_batches_within_a_seed_are_resampled(tmp_path):
    calm = conv_outcome(tmp_path / "a", conv_net(batch_sd=0.0), seeds=1, batches=5)
    noisy = conv_outcome(tmp_path / "b", conv_net(batch_sd=0.2), seeds=1, batches=5)
    assert width(noisy) > 2 * width(calm)
    assert noisy.uncertainty.leaves()[0].n_seeds == 1
    assert any("one training seed" in n for n in noisy.notes)


def test_layers_are_resampled_for_a_population_statistic_even_with_one_measurement(tmp_path):
    """One seed, one batch: only the layers vary, the interval says so, and it is not a point."""
    spread = [layer(f"c{i}", "conv", a, seed=i) for i, a in enumerate(np.linspace(1.6, 2.4, 9))]
    b = Bundle(write(tmp_path, {"one.json": project_file(spread)}))
    out = evaluate(CONV, b)
    (u,) = out.uncertainty.leaves()
    assert (u.n_seeds, u.n_batches, u.n_layers) == (1, 1, 9) and u.ci[0] < u.point < u.ci[1]
    assert out.verdict == INCONCLUSIVE and any(
        "measured once" in n and "only the resampled layers" in n for n in out.notes
    )


def test_per_layer_statement_with_one_measurement_is_judged_on_its_point(tmp_path):
    """ "Every few-class head has α < 2" is about each head: with one measurement nothing varies (and it says so)."""
    head = dict(layer("fc", "head", 1.2), shape=[10, 27])
    b = Bundle(write(tmp_path, {"one.json": project_file([layer("c0", "conv", 2.0), head])}))
    out = evaluate(REGISTRY["add.softmax.few_class_lt2"], b)
    (u,) = out.uncertainty.leaves()
    assert u.ci == (u.point, u.point) and out.verdict == HOLDS
    assert any("nothing varies" in n for n in out.notes)


def test_cell_weights_resample_seeds_then_batches():
    seeds = [0, 0, 0, 1, 1, 2]  # seed 0 has 3 batches, seed 1 two, seed 2 one
    w = cell_weights(seeds, 4000, np.random.default_rng(1))
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(w.mean(axis=0), point_weights(seeds), atol=0.01)  # unbiased for the hierarchical mean
    per_seed = np.stack([w[:, [0, 1, 2]].sum(1), w[:, [3, 4]].sum(1), w[:, 5]], axis=1)
    assert set(np.round(per_seed * 3).ravel()) <= {0.0, 1.0, 2.0, 3.0}  # a seed's total weight: (its count)/3
    assert np.allclose(point_weights(seeds), [1 / 9] * 3 + [1 / 6] * 2 + [1 / 3])


def test_widening_matches_t_over_z():
    assert widening(1, 0.95) == 1.0
    assert widening(3, 0.95) == pytest.approx(np.sqrt(1.5) * 4.302653 / 1.959964, rel=1e-5)
    assert 1.0 < widening(50, 0.95) < 1.05
    lo, hi = interval(np.array([1.0, 2.0, 3.0] * 100), 3, 0.95)
    assert lo < 1.0 and hi > 3.0  # widened about the median 2


# -- determinism ---------------------------------------------------------------------------------------------
def test_the_interval_is_deterministic_and_independent_of_evaluation_order(tmp_path):
    write(tmp_path, replicated("net", conv_net(base=1.9, seed_shift=0.3), 3, 5))
    other = REGISTRY["abs.triangle.median_err_93.law"]
    b1 = Bundle(tmp_path)
    first = evaluate(CONV, b1).uncertainty.leaves()[0].ci
    b2 = Bundle(tmp_path)
    evaluate(other, b2)  # another claim about the same network first
    again = evaluate(CONV, b2).uncertainty.leaves()[0].ci
    assert first == again
    seeded = evaluate(CONV, Bundle(tmp_path), Context(bootstrap=type(Context().bootstrap)(seed=1)))
    assert seeded.uncertainty.leaves()[0].ci != first  # the seed is the only source of randomness


def test_verify_json_carries_ci_and_ns_and_is_reproducible(tmp_path):
    folder = write(tmp_path, replicated("net", conv_net(base=1.9, seed_shift=0.3), 3, 5))
    rc1, out1, _ = verify("verify", "--results", str(folder), "--json")
    rc2, out2, _ = verify("verify", "--results", str(folder), "--json")
    assert out1 == out2 and rc1 == rc2
    row = next(r for r in json.loads(out1) if r["id"] == "abs.alpha.conv_approx2")
    assert row["verdict"] == INCONCLUSIVE and row["point_verdict"] == HOLDS and row["ci"] == [0.0, 1.0]
    assert (row["n_seeds"], row["n_batches"], row["n_layers"], row["n_networks"]) == (3, 5, 12, 1)
    (unit,) = row["units"]
    assert unit["region"] == "[1.85, 2.15]" and unit["data"] == "project" and len(unit["ci"]) == 2


def test_exit_status_inconclusive_is_not_a_failure_but_a_decided_failure_is(tmp_path):
    """A comparison file with 3 seeds: SN's 2-point gain is decided, "within seed noise" is not (inconclusive):
    nothing fails, exit 0. A decided failure still exits 1."""
    from tests.optim_fixture import accs, optim_doc, sn_wins

    rc, out, _ = verify("verify", "--results", str(write(tmp_path / "a", {"a.json": sn_wins()})))
    assert rc == 0 and "appM.law.scalar_within_seed_var" in out and ", 1 inconclusive" in out
    rc, out, _ = verify("verify", "--results", str(write(tmp_path / "b", {"b.json": optim_doc(accs(95.0, sn=-3.0))})))
    assert rc == 1


def test_band_override_moves_the_region_and_the_output_says_so(tmp_path):
    folder = write(tmp_path, replicated("net", conv_net(base=1.9, seed_shift=0.3), 3, 5))
    rc, out, _ = verify("verify", "--results", str(folder), "--json", "--band", "exponent=1")
    row = next(r for r in json.loads(out) if r["id"] == "abs.alpha.conv_approx2")
    assert row["verdict"] == HOLDS and row["units"][0]["region"] == "[1, 3]"
    assert row["band_override"] == "--band exponent=1 overrides the registry's 0.15"
    rc, text, _ = verify("verify", "--results", str(folder), "--band", "exponent=1")
    assert "--band exponent=1 overrides the registry's 0.15" in text
    _, shown, _ = verify("show", "abs.alpha.conv_approx2", "--results", str(folder), "--band", "exponent=1")
    assert "bands     : --band exponent=1 overrides" in shown and "→ holds" in shown


# -- replicates of one network ---------------------------------------------------------------------------------
def test_duplicate_measurement_is_refused_naming_both_files(tmp_path):
    docs = replicated("net", conv_net(), 1, 2)
    a, b = sorted(docs)
    docs["copy.json"] = json.loads(json.dumps(docs[a]))
    rc, _, err = verify("verify", "--results", str(write(tmp_path, docs)))
    assert rc == 2 and "duplicate measurement" in err and a in err and "copy.json" in err


def test_replicates_must_agree_on_their_identity(tmp_path):
    docs = replicated("net", conv_net(), 2, 1)
    docs[sorted(docs)[1]]["run"]["batch_size"] = 64
    with pytest.raises(InputError, match="differs in run.batch_size"):
        Bundle(write(tmp_path, docs)).load_all()


def test_replicates_form_one_network_judged_on_the_hierarchical_mean(tmp_path):
    out = conv_outcome(tmp_path, conv_net(seed_shift=0.02, batch_sd=0.02), seeds=3, batches=2)
    assert out.measured == (1, 1) and len(out.candidates) == 1 and out.candidates[0].rule == "net"
    assert len({r.split("/")[0] for r in out.records}) == 1


def test_files_without_run_name_stay_networks_of_their_own(tmp_path):
    b = Bundle(write(tmp_path, {f"r{i}.json": project_file([layer("c0", "conv", 2.0)]) for i in range(2)}))
    assert evaluate(CONV, b).measured == (2, 2)


# -- the authors' files: judged exactly as before --------------------------------------------------------------
@needs_paper
def test_the_authors_files_get_no_interval_and_no_inconclusive_verdict():
    b = Bundle(PAPER)
    for c in REGISTRY.values():
        out = evaluate(c, b, Context(Bands()))
        assert out.uncertainty is None and out.verdict != INCONCLUSIVE, c.id
        if c.kind == LAW:
            assert out.point_verdict == ""


def test_t_quantile_matches_scipy_without_importing_it_on_the_verifier_path():
    from scipy.special import stdtrit

    from claims.uncertainty.resample import t_quantile

    for df in (1, 2, 3, 4, 7, 30, 500):
        for p in (0.9, 0.975, 0.995):
            assert t_quantile(df, p) == pytest.approx(float(stdtrit(df, p)), rel=1e-7)
