"""PolynomialFeatures: each output column is a product of input columns given by ``powers_``.

Columns of equal degree are computed together: gather the last factor of every column, then
multiply by the next factor down to the first. That is scikit-learn's own order (a term of
degree d is the term of its d-1 largest indices times its smallest index), so the result is
bit-exact. The bias column is ``x @ 0 + 1``, an affine map the fold-affine pass can see through.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from sklir.frontend.affine import affine, select_columns
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def factor_table(powers: np.ndarray) -> np.ndarray:
    """For columns of one degree d, the ``[d, n_columns]`` table of their ascending factor indices."""
    return np.stack([np.repeat(np.arange(powers.shape[1]), row) for row in powers], axis=1)


def _ones(b: Builder, x: Value) -> Value:
    return affine(b, x, np.zeros((x.type.static_dim(1), 1)), np.ones(1))


def _products(b: Builder, x: Value, powers: np.ndarray) -> Value:
    factors = factor_table(powers)
    product = select_columns(b, x, factors[-1])
    for indices in factors[-2::-1]:
        product = b.call("mul", product, select_columns(b, x, indices))
    return product


@lowers(PolynomialFeatures)
def lower_polynomial(est: PolynomialFeatures, b: Builder, x: Value) -> dict[str, Value]:
    """Runs of equal-degree columns of ``powers_``, each a product of gathers, concatenated in order."""
    powers = np.asarray(est.powers_, dtype=np.int64)
    degrees = powers.sum(axis=1)
    blocks: list[Value] = []
    start = 0
    for degree, run in groupby(degrees):
        stop = start + len(list(run))
        block = powers[start:stop]
        blocks.append(_ones(b, x) if degree == 0 else _products(b, x, block))
        start = stop
    out = blocks[0] if len(blocks) == 1 else b.call("concat", *blocks, axis=1)
    return {"transform": out}
