"""Affine helpers of radiobject 0.1.1's `radiobject.utils`: the JSON form in which
volumes store their 4x4 affine (metadata `orientation_affine`, obs `affine_json`)."""
from __future__ import annotations

import json

import numpy as np

__all__ = ["affine_to_list", "affine_to_json"]


def affine_to_list(affine) -> list:
    """The matrix as nested lists of Python floats (row by row)."""
    return [[float(v) for v in row] for row in np.asarray(affine)]


def affine_to_json(affine) -> str:
    """The matrix as the JSON text radi and 0.1.1 store, e.g. "[[1.0, 0.0, ...], ...]"."""
    return json.dumps(affine_to_list(affine))
