"""Malformed input to ``python -m claims verify`` (issue 16's cases, and more): exit 2, exactly one line on
stderr naming the file and JSON path (or the argument), no traceback, no hang — or, for incomplete files, the
documented verdict (judged, marked ``partial``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from claims.bundle import FILE_KEYS
from tests.claims.cases import (
    PAPER,
    layer,
    link_paper,
    needs_paper,
    one_line_error,
    paper_doc,
    paper_with,
    project_file,
    run_cli,
    verify,
    write,
)

SENTINEL = 123456.789


def literal(key: str, place: Callable[[object], None], text: str) -> Callable[[Path], Path]:
    """The authors' folder with one number of file ``key`` written as the raw JSON literal ``text``."""

    def build(d: Path) -> Path:
        doc = paper_doc(key)
        place(doc)
        raw = json.dumps(doc)
        assert raw.count(repr(SENTINEL)) == 1
        return paper_with(d, key, text=raw.replace(repr(SENTINEL), text))

    return build


def project_literal(text: str, where: str = "sigma") -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        doc = project_file([layer("c0", "conv", 2.0), layer("c1", "conv", 2.0, seed=1)])
        doc["layers"][1][where][3] = SENTINEL
        return write(d, {"run.json": json.dumps(doc).replace(repr(SENTINEL), text)})

    return build


def mutated(key: str, change: Callable[[object], None]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        doc = paper_doc(key)
        change(doc)
        return paper_with(d, key, doc)

    return build


def project(change: Callable[[dict], None], name: str = "run.json") -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        doc = project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(3)])
        change(doc)
        return write(d, {name: doc})

    return build


def tri0(doc) -> dict:  # noqa: ANN001 - the first record of the first alpha_triangle block
    return doc[0]["results"][0]


def _set(obj: dict, key: str, value: object) -> None:
    obj[key] = value


def _dup_first_record(doc) -> None:  # noqa: ANN001
    doc[0]["results"].append(dict(doc[0]["results"][0]))


def _swap_sigma(rec: dict) -> None:
    rec["sigma"][2], rec["sigma"][3] = rec["sigma"][3], rec["sigma"][2] * 1.5


CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    # non-finite numbers (the authors' files and sad-results/1)
    "nan-in-sigma": (
        literal("alpha_triangle", lambda d: tri0(d)["sigma"].__setitem__(2, SENTINEL), "NaN"),
        ("results_alpha_triangle.json: $[0].results[0].sigma[2]: non-finite number NaN",),
    ),
    "infinity-in-h": (
        literal("hypothesis", lambda d: d["output_dim"]["CIFAR-10"][1]["h_exact"].__setitem__(0, SENTINEL), "Infinity"),
        ("results_hypothesis.json: $.output_dim.CIFAR-10[1].h_exact[0]: non-finite number Infinity",),
    ),
    "minus-infinity-in-h": (
        literal("conv_gap_v2", lambda d: d["conv_results"][0]["h_exact"].__setitem__(4, SENTINEL), "-Infinity"),
        ("results_conv_gap_v2.json: $.conv_results[0].h_exact[4]: non-finite number -Infinity",),
    ),
    "1e400-in-sigma": (
        literal("alpha_triangle", lambda d: tri0(d)["sigma"].__setitem__(0, SENTINEL), "1e400"),
        ("results_alpha_triangle.json: $[0].results[0].sigma[0]: number 1e400 overflows",),
    ),
    "1e400-in-a-stored-field": (
        literal("tiny", lambda d: d["results"][3].__setitem__("alpha", SENTINEL), "-1E+400"),
        ("results_tiny_imagenet_alpha_map.json: $.results[3].alpha: number -1E+400 overflows",),
    ),
    "huge-integer-in-sigma": (
        literal("alpha_triangle", lambda d: tri0(d)["sigma"].__setitem__(0, SENTINEL), "1" + "0" * 400),
        ("results_alpha_triangle.json: $[0].results[0].sigma[0]: number too large",),
    ),
    "nan-in-project-sigma": (
        project_literal("NaN"),
        ("run.json: $.layers[1].sigma[3]: non-finite number NaN",),
    ),
    "infinity-in-project-h": (
        project_literal("Infinity", "h_exact"),
        ("run.json: $.layers[1].h_exact[3]: non-finite number Infinity",),
    ),
    "1e400-in-project-h": (
        project_literal("1e400", "h_exact"),
        ("run.json: $.layers[1].h_exact[3]: number 1e400 overflows",),
    ),
    # empty and mis-sized arrays, window sizes
    "empty-sigma": (
        mutated("alpha_triangle", lambda d: tri0(d).update(sigma=[], h_exact=[])),
        ("results_alpha_triangle.json: $[0].results[0].sigma: empty",),
    ),
    "empty-records": (
        mutated("predictions", lambda d: d[1].__setitem__("results", [])),
        ("results_predictions.json: $[1].results: empty",),
    ),
    "empty-project-sigma": (
        project(lambda d: d["layers"][0].update(sigma=[], h_exact=[], k=0)),
        ("run.json: $.layers[0].sigma: empty",),
    ),
    "h-shorter-than-sigma": (
        mutated("hypothesis", lambda d: d["task_structure"]["GPT2_LM"][0]["h_exact"].pop()),
        ("results_hypothesis.json: $.task_structure.GPT2_LM[0].h_exact: has",),
    ),
    "top_k-disagrees-with-arrays": (
        mutated("alpha_triangle", lambda d: _set(tri0(d), "top_k", 25)),
        ("results_alpha_triangle.json: $[0].results[0].top_k: top_k = 25 but sigma has 20 values",),
    ),
    "rmt-top_k-disagrees": (
        mutated("rmt", lambda d: _set(d["phase_2a_init"]["layers"][5], "top_k", 7)),
        ("results_rmt_gamma_spectrum.json: $.phase_2a_init.layers[5].top_k: top_k = 7",),
    ),
    "project-k-disagrees": (
        project(lambda d: _set(d["layers"][1], "k", 19)),
        ("run.json: $.layers[1].k: k = 19 but sigma has 20 values",),
    ),
    "project-h_gn-mis-sized": (
        project(lambda d: _set(d["layers"][2], "h_gn", [1.0, 2.0])),
        ("run.json: $.layers[2].h_gn: has 2 values but sigma has 20",),
    ),
    "project-k-above-requested": (
        project(lambda d: _set(d["run"], "k", 10)),
        ("run.json: $.layers[0].k: k = 20 directions but the run requested k = 10",),
    ),
    # σ: negative, unsorted, null
    "negative-sigma": (
        mutated("alpha_triangle", lambda d: tri0(d)["sigma"].__setitem__(-1, -1e-3)),
        ("results_alpha_triangle.json: $[0].results[0].sigma[19]: negative singular value",),
    ),
    "unsorted-sigma": (
        mutated("rmt", lambda d: _swap_sigma(d["phase_1b_extended_trained"]["layers"][0])),
        (
            "results_rmt_gamma_spectrum.json: $.phase_1b_extended_trained.layers[0].sigma[3]: singular values not sorted",
        ),
    ),
    "null-sigma": (
        mutated("conv_gap", lambda d: d["fc_result"]["sigma"].__setitem__(1, None)),
        ("results_conv_gap.json: $.fc_result.sigma[1]: null singular value",),
    ),
    "negative-project-sigma": (
        project(lambda d: d["layers"][0]["sigma"].__setitem__(19, -0.5)),
        ("run.json: $.layers[0].sigma[19]: negative singular value",),
    ),
    "unsorted-project-sigma": (
        project(lambda d: d["layers"][0]["sigma"].reverse()),
        ("run.json: $.layers[0].sigma[1]: singular values not sorted",),
    ),
    # duplicates
    "duplicated-layer": (
        mutated("alpha_triangle", _dup_first_record),
        (
            "results_alpha_triangle.json: $[0].results[10].name: duplicated layer name 'conv1' (also at $[0].results[0])",
        ),
    ),
    "duplicated-block": (
        mutated("intrinsic_dim", lambda d: d.append(d[0])),
        ("results_intrinsic_dim.json: $[3].experiment: duplicated experiment 'intrinsic_dim_resnet'",),
    ),
    "duplicated-epoch": (
        mutated("vgg16", lambda d: d["trajectory"].append(d["trajectory"][2])),
        ("results_vgg16_trajectory.json: $.trajectory[8].epoch: duplicated epoch 3",),
    ),
    "duplicated-project-layer": (
        project(lambda d: d["layers"].append(d["layers"][1])),
        ("run.json: $.layers[3].name: duplicated layer name 'c1'",),
    ),
    "duplicate-json-key": (
        lambda d: paper_with(
            d,
            "kfac_prediction",
            text=(PAPER / FILE_KEYS["kfac_prediction"])
            .read_text()
            .replace('"n_layers": 5,', '"n_layers": 5, "n_layers": 4,'),
        ),
        ("results_kfac_prediction.json: $.n_layers: key 'n_layers' appears more than once",),
    ),
    "duplicate-key-in-project-record": (
        lambda d: write(
            d,
            {
                "run.json": json.dumps(project_file([layer("c0", "conv", 2.0)])).replace(
                    '"name": "c0",', '"name": "c0", "name": "c9",'
                )
            },
        ),
        ("run.json: $.layers[0].name: key 'name' appears more than once",),
    ),
    # schemas
    "unknown-schema-version": (
        lambda d: write(link_paper(d), {"new.json": {"schema": "sad-results/2", "layers": []}}),
        ("new.json: $.schema: unknown schema 'sad-results/2'",),
    ),
    "unknown-optim-schema-version": (
        lambda d: write(d, {"cmp.json": {"schema": "sad-optim/9"}}),
        ("cmp.json: $.schema: unknown schema 'sad-optim/9'",),
    ),
    # unknown blocks (a KeyError before)
    "unknown-experiment": (
        mutated("alpha_triangle", lambda d: _set(d[1], "experiment", "resnet34_triangle")),
        ("results_alpha_triangle.json: $[1].experiment: unknown experiment 'resnet34_triangle'",),
    ),
    "unknown-intrinsic-experiment": (
        mutated("intrinsic_dim", lambda d: _set(d[2], "experiment", "scaling_test_v2")),
        ("results_intrinsic_dim.json: $[2].experiment: unknown experiment 'scaling_test_v2'",),
    ),
    # non-regular files (never opened)
    "author-file-is-a-directory": (
        lambda d: (link_paper(d, skip=("hypothesis",)), (d / FILE_KEYS["hypothesis"]).mkdir())[0],
        ("results_hypothesis.json: is a directory, not a regular file",),
    ),
    "author-file-is-a-dangling-symlink": (
        lambda d: (link_paper(d, skip=("rmt",)), os.symlink(d / "nowhere", d / FILE_KEYS["rmt"]))[0],
        ("results_rmt_gamma_spectrum.json: is a symbolic link to a missing file",),
    ),
    "other-json-is-a-directory": (
        lambda d: (link_paper(d), (d / "old.json").mkdir())[0],
        ("old.json: is a directory, not a regular file",),
    ),
    # nesting, encoding, syntax
    "deep-nesting-in-junk": (
        lambda d: write(link_paper(d), {"junk.json": "[" * 100_000 + "]" * 100_000}),
        ("junk.json: $: JSON nested too deeply to read",),
    ),
    "deep-nesting-in-author-file": (
        lambda d: paper_with(d, "precond", text='{"summary": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        ("results_preconditioner_summary.json: $: JSON nested too deeply to read",),
    ),
    "not-utf8": (
        lambda d: (link_paper(d), (d / "bin.json").write_bytes(b'{"a": "\xff\xfe"}'))[0],
        ("bin.json: cannot read: not UTF-8 text",),
    ),
    "truncated-json": (
        lambda d: paper_with(d, "in1k", text=(PAPER / FILE_KEYS["in1k"]).read_text()[:-40]),
        ("results_imagenet1k_pretrained.json: $: malformed JSON",),
    ),
    "results-path-is-a-file": (
        lambda d: write(d, {"x.json": "{}"}) / "x.json",
        ("x.json: is not a folder",),
    ),
}


@needs_paper
@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_is_one_line_exit_2(case, tmp_path):
    build, expected = CASES[case]
    folder = build(tmp_path / "r")
    rc, out, err = verify("verify", "--results", str(folder))
    line = one_line_error(rc, err)
    for e in expected:
        assert e in line, (line, e)
    assert out == ""


BANDS = {
    "exponent=-1": "exponent=-1: must be > 0",
    "exponent=0": "exponent=0: must be > 0",
    "exponent=nan": "exponent=nan: must be a finite number",
    "exponent=inf": "exponent=inf: must be a finite number",
    "ratio=-inf": "ratio=-inf: must be a finite number",
    "most=-1": "most=-1: must lie in [0.5, 1)",
    "most=1": "most=1: must lie in [0.5, 1)",
    "most=0.2": "most=0.2: must lie in [0.5, 1)",
    "slope=0.1": "unknown band 'slope'",
    "exponent=wide": "exponent: not a number: 'wide'",
    "exponent": "expected NAME=VALUE",
}


@needs_paper
@pytest.mark.parametrize("band", sorted(BANDS))
def test_band_values_are_validated(band, tmp_path):
    rc, out, err = verify("verify", "--results", str(PAPER), "--band", band)
    assert BANDS[band] in one_line_error(rc, err) and out == ""


def test_band_given_twice_is_refused():
    rc, _, err = verify("verify", "--results", str(PAPER), "--band", "exponent=0.2", "--band", "exponent=0.3")
    assert "exponent given twice" in one_line_error(rc, err)


# -- what only a separate process shows: FIFOs (a read would block) and tracebacks --------------------------
@needs_paper
@pytest.mark.parametrize("name", [FILE_KEYS["tiny"], "junk.json"])
def test_a_fifo_is_refused_without_being_opened(name, tmp_path):
    d = link_paper(tmp_path / "r", skip=("tiny",) if name == FILE_KEYS["tiny"] else ())
    os.mkfifo(d / name)
    r = run_cli("verify", "--results", str(d), timeout=60)  # a hang would time out the test
    assert f"{name}: is a FIFO (named pipe), not a regular file; not read" in one_line_error(r.returncode, r.stderr)


@needs_paper
@pytest.mark.parametrize("case", ["deep-nesting-in-junk", "1e400-in-sigma", "duplicate-json-key", "unknown-experiment"])
def test_no_traceback_in_a_separate_process(case, tmp_path):
    build, expected = CASES[case]
    r = run_cli("verify", "--results", str(build(tmp_path / "r")), "--json")
    assert expected[0] in one_line_error(r.returncode, r.stderr) and r.stdout == ""


# -- folders the verifier may not read (the tests run as root, so permissions are simulated) -----------------
def test_unsearchable_folder_is_one_line(tmp_path, monkeypatch):
    write(tmp_path / "r", {"a.json": "{}"})

    def denied(path):  # noqa: ANN001, ANN202
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "listdir", denied)
    rc, _, err = verify("verify", "--results", str(tmp_path / "r"))
    assert "cannot list the results folder: permission denied" in one_line_error(rc, err)


def test_unreachable_folder_is_one_line(tmp_path, monkeypatch):
    real_stat = os.stat

    def stat(path, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *a, **k)

    monkeypatch.setattr(os, "stat", stat)
    rc, _, err = verify("verify", "--results", str(tmp_path / "locked"))
    assert "cannot access the results folder: Permission denied" in one_line_error(rc, err)


def test_unreadable_file_is_one_line(tmp_path, monkeypatch):
    d = write(tmp_path / "r", {"run.json": project_file([layer("c0", "conv", 2.0)])})
    real = Path.read_text

    def read_text(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        if self.name == "run.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", read_text)
    rc, _, err = verify("verify", "--results", str(d))
    assert "run.json: cannot read: Permission denied" in one_line_error(rc, err)


# -- incomplete files: the documented verdicts ---------------------------------------------------------------
def test_incomplete_measurement_file_is_judged_with_a_partial_mark(tmp_path):
    """A ``sad-results/1`` file with ``complete: false`` is judged on the layers it holds, and every verdict
    that uses it is marked ``(partial)`` in the table, ``partial_inputs`` in --json, with a note."""
    d = write(
        tmp_path / "r",
        {
            "done.json": project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(3)]),
            "running.json": project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(2)], complete=False),
        },
    )
    rc, out, err = verify("verify", "--results", str(d), "--json")
    assert rc in (0, 1) and err == ""
    rows = {r["id"]: r for r in json.loads(out)}
    conv = rows["abs.alpha.conv_approx2"]
    assert conv["verdict"] == "holds" and conv["partial_inputs"] == ["running.json"]
    assert any(n.startswith("partial input: running.json is incomplete") for n in conv["notes"])
    assert rows["integrity.running.json"]["verdict"] == "holds"  # its stored fields are still cross-checked
    rc, out, _ = verify("verify", "--results", str(d))
    line = next(x for x in out.splitlines() if x.startswith("abs.alpha.conv_approx2 "))
    assert "holds (partial)" in line
    assert "partial inputs: running.json (complete: false)" in out


def test_only_complete_files_give_no_partial_mark(tmp_path):
    d = write(tmp_path / "r", {"done.json": project_file([layer(f"c{i}", "conv", 2.0, seed=i) for i in range(3)])})
    rc, out, _ = verify("verify", "--results", str(d), "--json")
    assert all(r["partial_inputs"] == [] for r in json.loads(out)) and "(partial)" not in json.dumps(json.loads(out))
