"""What every report figure is: a :class:`Figure` (title, rule, sources, panels or what it needs), and the helpers
the figure modules share (:func:`short` network names, :func:`source` strings, the project's trained networks)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bundle import FILE_KEYS, Bundle
from ..records import Layer, Network, networks
from ..replicates import final_groups

#: Author files whose records keep per-layer σ and h arrays (CLAIMS.md §4).
ARRAY_KEYS = ("alpha_triangle", "hypothesis", "predictions", "conv_gap", "conv_gap_v2")
PROJECT = "sad-results/1 files"


@dataclass
class Figure:
    key: str  # file stem of the PNG
    title: str
    what: str  # what is drawn, one or two sentences
    needs: str  # what a folder must hold for this figure
    rule: str = ""  # which layers / networks are shown
    sources: list[str] = field(default_factory=list)  # "file → fields" actually used
    panels: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return not self.panels


def short(net: Network) -> str:
    """A network's display name: the block label for the authors' files, the file stem for a project file, the
    run name (and epoch) for a project network measured on several seeds or batches."""
    if net.key != "project":
        return net.label
    return Path(net.label).stem if net.label.endswith(".json") else net.label


def project_networks(b: Bundle) -> list[Network]:
    """The project's trained networks: the last checkpoint of each training run (a network measured on several
    seeds × batches once, as the hierarchical mean of its layers; its σ/h arrays are its first cell's)."""
    return [g.point for g in final_groups(b)]


def source(b: Bundle, key: str, fields: str) -> str:
    """A figure's source line: the file (or the project's files) and the fields used."""
    return f"{FILE_KEYS[key]} → {fields}" if key != "project" else f"{PROJECT} ({len(b.project)}) → {fields}"


def finite(*xs: float) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def array_layers(b: Bundle) -> list[tuple[Network, Layer]]:
    """Every (network, layer) whose record keeps its σ and h arrays (the authors' array files, the project's)."""
    nets = [n for k in ARRAY_KEYS for n in networks(b, k)] + project_networks(b)
    return [(n, lay) for n in nets for lay in n.layers if "sigma" in lay.extra and "h" in lay.extra]
