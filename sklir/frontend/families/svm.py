"""SVMs: SVC, NuSVC, SVR, NuSVR, OneClassSVM and SGDOneClassSVM (issue 7).

The kernel ones are libsvm's decision value ``sum_i dual_coef_i K(x, sv_i) + intercept`` over
the support vectors, ``K`` one :class:`~sklir.ir.dialects.ml.Kernel` (poly, rbf or sigmoid with
the fitted ``_gamma``, ``coef0`` and ``degree``; a linear kernel folds into one weight vector,
since the sum over support vectors cancels and float32 would lose its digits). SVR and NuSVR
predict that value. OneClassSVM's ``decision_function`` is that value, ``score_samples`` the
value less the intercept, and ``predict`` libsvm's ``1 if value > 0 else -1``. A precomputed or
callable kernel has no vectors to store and is refused by name. SGDOneClassSVM is linear:
``decision = x @ coef - offset``, ``score = decision + offset``, ``1 if decision >= 0 else -1``.

SVC and NuSVC compute one decision value per pair of classes ``(i, j)``, ``i < j``: the support
vectors of both classes with their coefficients for that pair (``dual_coef_`` row ``j - 1`` for
class ``i``'s vectors, row ``i`` for class ``j``'s). libsvm votes for ``i`` where its value is
positive (scikit-learn negates the value of a two-class model) and predicts the first class of
most votes: one ``vote`` op. ``decision_function_shape='ovr'`` adds to the votes the summed
confidences squashed into ``(-1/3, 1/3)`` (``_ovr_decision_function``); with ``break_ties`` the
label is its argmax. ``probability=True`` is libsvm's: each pair's Platt sigmoid
``1 / (1 + exp(A d + B))`` clipped to ``[1e-7, 1 - 1e-7]``, and for more than two classes its
pairwise coupling (for two classes too), unrolled (:func:`couple`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import SGDOneClassSVM
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

from sklir.frontend.affine import affine
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import labels_from_scores, outlier_labels, ovr_decision
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import Vote

KERNELS = ("linear", "poly", "rbf", "sigmoid")


def _check_kernel(est: Any) -> None:
    if not isinstance(est.kernel, str) or est.kernel not in KERNELS:
        raise refuse(est, "kernel", est.kernel, KERNELS)


def _decision(est: Any, b: Builder, x: Value, with_intercept: bool = True) -> Value:
    """libsvm's decision value, ``[N]``."""
    _check_kernel(est)
    vectors = est.support_vectors_
    vectors = np.asarray(vectors.toarray() if hasattr(vectors, "toarray") else vectors, np.float64)
    dual = np.asarray(est.dual_coef_, np.float64)
    intercept = est.intercept_ if with_intercept else None
    if est.kernel == "linear":
        # sum_i a_i (x . sv_i) = x . (sum_i a_i sv_i): one product of F terms instead of a sum
        # over every support vector, whose cancellation would cost float32 its digits
        return b.call("squeeze", affine(b, x, (dual @ vectors).T, intercept), axis=1)
    k = kernel(b, x, vectors, est.kernel, gamma=est._gamma, coef0=est.coef0, degree=est.degree)
    return b.call("squeeze", affine(b, k, dual.T, intercept), axis=1)


def _check_classifier(est: Any) -> None:
    _check_kernel(est)
    if est.break_ties and est.decision_function_shape == "ovo" and len(est.classes_) > 2:
        raise refuse(est, "break_ties", True, "False with decision_function_shape='ovo' (scikit-learn raises)")


PRECHECKS.update(dict.fromkeys((SVR, NuSVR, OneClassSVM), _check_kernel))
PRECHECKS.update(dict.fromkeys((SVC, NuSVC), _check_classifier))

# libsvm's bounds on a pairwise probability, and its coupling's tolerance per class count
MIN_PROBABILITY = 1e-7
# the coupling's sweeps: libsvm allows max(100, k) but stops when every row has converged,
# which takes at most 5 on iris, wine and digits; rows still moving after this many stop here
COUPLING_SWEEPS = 10


def _pairs(n: int) -> np.ndarray:
    return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64).reshape(-1, 2)


def _pair_decisions(est: Any, b: Builder, x: Value) -> Value:
    """scikit-learn's one-vs-one decision values ``[N, pairs]``, pairs in ``(0, 1), (0, 2), ...`` order."""
    vectors = est.support_vectors_
    vectors = np.asarray(vectors.toarray() if hasattr(vectors, "toarray") else vectors, np.float64)
    dual = np.asarray(est.dual_coef_, np.float64)
    starts = np.concatenate([[0], np.cumsum(est.n_support_)])
    pairs = _pairs(len(est.classes_))
    coef = np.zeros((len(vectors), len(pairs)))
    for p, (i, j) in enumerate(pairs):
        coef[starts[i]:starts[i + 1], p] = dual[j - 1, starts[i]:starts[i + 1]]
        coef[starts[j]:starts[j + 1], p] = dual[i, starts[j]:starts[j + 1]]
    if est.kernel == "linear":
        return affine(b, x, vectors.T @ coef, est.intercept_)
    k = kernel(b, x, vectors, est.kernel, gamma=est._gamma, coef0=est.coef0, degree=est.degree)
    return affine(b, k, coef, est.intercept_)


def couple(b: Builder, r: Value, pairs: np.ndarray, k: int) -> Value:
    """libsvm's ``multiclass_probability``: class probabilities ``[N, k]`` from each pair's
    ``r = P(i | i or j)`` ``[N, pairs]``, by its own sweeps (one Gauss-Seidel update per class,
    then renormalising) until ``max_t |(Qp)_t - p'Qp| < 0.005 / k``. Every row runs
    :data:`COUPLING_SWEEPS` sweeps; a row that has met the tolerance is frozen (its updates are
    0), so each row stops where libsvm stops it.

    ``Q[t, t] = sum_{j != t} r_jt^2`` and ``Q[t, j] = -r_jt r_tj`` (``r_ji = 1 - r_ij``), kept as
    ``[N, k * k]``; ``Qp`` is its product with ``p`` by one gather and one matrix product.
    """
    eps = 0.005 / k
    n_pairs = len(pairs)
    # Q flattened row-major: off-diagonal -r(1 - r); diagonal r^2 from pairs (j, t) and (1 - r)^2 from (t, j)
    off, lower, upper = (np.zeros((n_pairs, k * k)) for _ in range(3))
    for pair, (i, j) in enumerate(pairs):
        off[pair, i * k + j] = off[pair, j * k + i] = -1.0
        lower[pair, j * k + j] = 1.0  # r_ij^2 adds to Q[j, j]
        upper[pair, i * k + i] = 1.0  # r_ji^2 = (1 - r_ij)^2 adds to Q[i, i]
    one = b.const(1.0)
    rest = b.call("sub", one, r)
    q = b.call("add", b.call("add", b.call("matmul", b.call("mul", r, rest), b.const(off)),
                                   b.call("matmul", b.call("square", r), b.const(lower))),
               b.call("matmul", b.call("square", rest), b.const(upper)))
    rows = [b.call("gather", q, b.const(np.arange(t * k, t * k + k, dtype=np.int64)), axis=1) for t in range(k)]
    diagonal = [b.call("gather", q, b.const(np.array([t * k + t], np.int64)), axis=1) for t in range(k)]
    spread = b.const(np.tile(np.arange(k, dtype=np.int64), k))  # p_j under Q[t, j]
    group = b.const(np.kron(np.eye(k), np.ones((k, 1))))  # sums each row t of Q * p
    unit = [b.const(np.eye(k)[t].reshape(1, -1)) for t in range(k)]
    p = b.call("add", b.call("mul", r, b.const(0.0)), b.const(1.0 / k))  # [N, P]: only its batch matters
    p = b.call("gather", p, b.const(np.zeros(k, np.int64)), axis=1)
    zero = b.const(0.0)
    for _ in range(COUPLING_SWEEPS):
        qp = b.call("matmul", b.call("mul", q, b.call("gather", p, spread, axis=1)), group)
        pqp = b.call("reduce", b.call("mul", p, qp), kind="sum", axis=1, keepdims=True)
        error = b.call("reduce", b.call("abs", b.call("sub", qp, pqp)), kind="max", axis=1, keepdims=True)
        moving = b.call("compare", error, b.const(eps), predicate="ge")
        for t in range(k):
            qp_t = b.call("gather", qp, b.const(np.array([t], np.int64)), axis=1)
            diff = b.call("div", b.call("sub", pqp, qp_t), diagonal[t])
            diff = b.call("select", moving, diff, zero)
            p = b.call("add", p, b.call("mul", diff, unit[t]))
            grow = b.call("add", one, diff)
            pqp = b.call("div", b.call("add", pqp, b.call("mul", diff, b.call("add", b.call("mul", diff, diagonal[t]),
                                                                               b.call("mul", qp_t, b.const(2.0))))),
                         b.call("square", grow))
            qp = b.call("div", b.call("add", qp, b.call("mul", diff, rows[t])), grow)
            p = b.call("div", p, grow)
    return p


def _probabilities(est: Any, b: Builder, libsvm: Value, pairs: np.ndarray) -> Value:
    a = np.asarray(est._probA, np.float64).reshape(1, -1)
    c = np.asarray(est._probB, np.float64).reshape(1, -1)
    f = b.call("add", b.call("mul", libsvm, b.const(a)), b.const(c))
    r = b.call("clip", b.call("sigmoid", b.call("neg", f)), min=MIN_PROBABILITY, max=1.0 - MIN_PROBABILITY)
    # scikit-learn's libsvm couples two classes too (newer libsvm returns r, 1 - r); its
    # tolerance 0.0025 leaves the two-class answer up to that far from r
    return couple(b, r, pairs, len(est.classes_))


@lowers(SVC, NuSVC)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_classifier(est)
    n = len(est.classes_)
    pairs = _pairs(n)
    decision = _pair_decisions(est, b, x)
    # libsvm's own sign: scikit-learn negates a two-class model's value so that > 0 means classes_[1]
    libsvm = decision if n > 2 else b.call("neg", decision)
    (votes,) = b.apply(Vote(pairs=Tensor(pairs), classes=n), libsvm)
    outputs: dict[str, Value] = {}
    if n == 2:
        outputs["decision"] = b.call("squeeze", decision, axis=1)
    elif est.decision_function_shape == "ovr":
        outputs["decision"] = ovr_decision(b, votes, decision, pairs, n)
    else:
        outputs["decision"] = decision
    ties_broken = est.break_ties and n > 2
    outputs["label"] = labels_from_scores(b, outputs["decision"] if ties_broken else votes, est.classes_)
    if np.size(est._probA):  # fitted with probability=True (the parameter is deprecated in 1.9)
        outputs["probabilities"] = _probabilities(est, b, libsvm, pairs)
    return outputs


@lowers(SVR, NuSVR)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"prediction": _decision(est, b, x)}


@lowers(OneClassSVM)
def _one_class(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    decision = _decision(est, b, x)
    inlier = b.call("compare", decision, b.const(0.0), predicate="gt")
    return {"label": outlier_labels(b, inlier), "decision": decision,
            "score": _decision(est, b, x, with_intercept=False)}


@lowers(SGDOneClassSVM)
def _sgd_one_class(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    offset = float(np.asarray(est.offset_).ravel()[0])
    decision = b.call("squeeze", affine(b, x, np.asarray(est.coef_, np.float64).reshape(-1, 1), -offset), axis=1)
    inlier = b.call("compare", decision, b.const(0.0), predicate="ge")
    return {"label": outlier_labels(b, inlier), "decision": decision,
            "score": b.call("add", decision, b.const(offset))}
