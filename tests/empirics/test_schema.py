"""empirics.schema: the results-file contract (torch-free)."""

import subprocess
import sys

import pytest

from empirics.schema import SCHEMA_VERSION, SchemaError, to_jsonable, validate
from tests.cases import RESULTS_RUN


def _doc():
    return {
        "schema": SCHEMA_VERSION,
        "complete": True,
        "run": dict(RESULTS_RUN),
        "provenance": {},
        "layers": [
            {
                "name": "fc1",
                "layer_type": "dense",
                "shape": [4, 3],
                "k": 3,
                "sigma": [3.0, 2.0, 1.0],
                "h_exact": [9.0, None, -1.0],
            }
        ],
    }


def test_valid_document_passes():
    validate(_doc())


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda d: d.pop("layers"), "$.layers"),
        (lambda d: d["run"].pop("batch_size"), "$.run.batch_size"),
        (lambda d: d["run"].__setitem__("batch_size", "8"), "$.run.batch_size"),
        (lambda d: d["layers"][0].__setitem__("layer_type", "convolution"), "$.layers[0].layer_type"),
        (lambda d: d["layers"][0]["sigma"].__setitem__(1, "x"), "$.layers[0].sigma[1]"),
        (lambda d: d["layers"][0]["h_exact"].pop(), "$.layers[0].h_exact"),
        (lambda d: d.__setitem__("schema", "other/9"), "$.schema"),
    ],
)
def test_errors_name_the_json_path(mutate, path):
    d = _doc()
    mutate(d)
    with pytest.raises(SchemaError) as e:
        validate(d)
    assert e.value.path == path


def test_to_jsonable_replaces_nonfinite():
    assert to_jsonable({"a": [1.0, float("nan"), float("inf")], "b": (2,)}) == {"a": [1.0, None, None], "b": [2]}


def test_schema_module_is_torch_free():
    code = "import empirics.schema, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
