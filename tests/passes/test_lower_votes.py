"""The ``vote`` op and ``lower-votes``: libsvm's one-vs-one votes.

- the reference counts libsvm's votes (``> 0`` for the first class of a pair, else the second,
  NaN included) and its argmax is scikit-learn's SVC prediction;
- before/after: the lowered module (one matrix product) gives the same counts exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import Vote
from sklir.passes.lower_votes import LowerVotes
from sklir.passes.manager import PassManager

PAIRS = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]], dtype=np.int64)


def vote_module() -> Module:
    b, x = Builder.new("votes", len(PAIRS), DType.f64)
    (votes,) = b.apply(Vote(pairs=Tensor(PAIRS), classes=4), x)
    b.output("votes", votes)
    return b.module


def libsvm_votes(d: np.ndarray) -> np.ndarray:
    votes = np.zeros((len(d), 4))
    for row, values in enumerate(d):
        for (i, j), value in zip(PAIRS, values, strict=True):
            votes[row, i if value > 0 else j] += 1
    return votes


def test_reference_is_libsvm_and_lowering_is_exact() -> None:
    rng = np.random.default_rng(0)
    d = rng.integers(-2, 3, size=(200, len(PAIRS))).astype(np.float64)  # zeros: the second class wins
    d[rng.random(d.shape) < 0.05] = np.nan
    before = vote_module()
    after = PassManager([LowerVotes()]).run(before).module
    assert {n.op.name for n in after.nodes}.isdisjoint({"vote"})
    want = libsvm_votes(d)
    np.testing.assert_array_equal(interpret(before, d)["votes"], want)
    np.testing.assert_array_equal(interpret(after, d)["votes"], want)
    assert [n.op.name for n in before.nodes] == ["vote"], "the pass must not mutate its input"


@pytest.mark.parametrize("pairs", [np.array([[0, 3]]), np.array([[0, 1, 2]]), np.array([[0.0, 1.0]])])
def test_bad_pairs_are_refused(pairs: np.ndarray) -> None:
    from sklir.errors import IRError

    b, x = Builder.new("votes", 1, DType.f64)
    with pytest.raises(IRError, match="vote: "):
        b.apply(Vote(pairs=Tensor(pairs), classes=3), x)
