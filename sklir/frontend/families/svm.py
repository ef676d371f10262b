"""SVMs that need no vote: SVR, NuSVR, OneClassSVM and SGDOneClassSVM (issue 7).

The kernel ones are libsvm's decision value ``sum_i dual_coef_i K(x, sv_i) + intercept`` over
the support vectors, ``K`` one :class:`~sklir.ir.dialects.ml.Kernel` (poly, rbf or sigmoid with
the fitted ``_gamma``, ``coef0`` and ``degree``; a linear kernel folds into one weight vector,
since the sum over support vectors cancels and float32 would lose its digits). SVR and NuSVR
predict that value. OneClassSVM's ``decision_function`` is that value, ``score_samples`` the
value less the intercept, and ``predict`` libsvm's ``1 if value > 0 else -1``. A precomputed or
callable kernel has no vectors to store and is refused by name. SGDOneClassSVM is linear:
``decision = x @ coef - offset``, ``score = decision + offset``, ``1 if decision >= 0 else -1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import SGDOneClassSVM
from sklearn.svm import SVR, NuSVR, OneClassSVM

from sklir.frontend.affine import affine
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import outlier_labels
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

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


PRECHECKS.update(dict.fromkeys((SVR, NuSVR, OneClassSVM), _check_kernel))


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
