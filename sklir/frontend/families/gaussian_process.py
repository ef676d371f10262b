"""Gaussian processes (issue 7): GaussianProcessRegressor's mean and GaussianProcessClassifier.

The fitted kernel ``kernel_`` between the input and the training rows is built from its parts
(:data:`KERNELS`): RBF and Matern (nu 0.5, 1.5, 2.5, inf) with one length scale or one per
feature (the inputs divided by it, then a :class:`~sklir.ir.dialects.ml.Kernel` distance),
RationalQuadratic, ExpSineSquared, DotProduct, ConstantKernel, WhiteKernel (0 between distinct
inputs, its noise level on the diagonal), and their sums, products and powers. A part is a value
``[N, M]`` or a Python float (a constant kernel), combined without building constant matrices.

- Regressor: ``predict`` is ``K(x, X_train_) @ alpha_``, scaled back by ``_y_train_std`` and
  ``_y_train_mean`` (``normalize_y``); one target gives ``[N]``.
- Distances are scipy's ``cdist`` from the differences (:func:`cdist`), as the kernels compute them.
- Classifier (Laplace approximation, two classes or one-vs-rest): the latent mean
  ``f = K(x, X_train_) @ (y_train_ - pi_)`` and variance ``k(x, x) - |k @ B|^2`` with
  ``B = diag(W_sr_) L_^-T`` (what ``solve(L_, W_sr_ * K)`` and its column norms compute), then
  scikit-learn's probit approximation: the sum over its five ``LAMBDAS`` and ``COEFS`` of
  ``sqrt(pi / a) erf(l f sqrt(a / (a + l^2))) / (2 sqrt(2 pi v))`` with ``a = 1 / (2 v)``, plus
  ``COEFS.sum() / 2``. Its coefficients reach 3517 with alternating signs, so float32 keeps the
  probabilities to about 5e-4 (scikit-learn sums them in float64). Two classes: ``label`` is
  ``classes_[f > 0]``; one-vs-rest: each class's
  probability normalised over the classes, and ``label`` the class of highest probability (the
  last on ties, as ``OneVsRestClassifier`` keeps it). ``one_vs_one`` has no probabilities in
  scikit-learn and is refused by name, as are kernels outside the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
from sklearn.gaussian_process import kernels as gpk
from sklearn.gaussian_process._gpc import COEFS, LAMBDAS

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.affine import affine, columnwise, squared_norm_of_affine
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import labels_from_index, same_for_every_row
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

Part = Value | float
MATERN = (0.5, 1.5, 2.5, float("inf"))


def _combine(b: Builder, op: str, a: Part, c: Part) -> Part:
    if isinstance(a, float) and isinstance(c, float):
        return a + c if op == "add" else a * c
    if isinstance(a, float):
        a, c = c, a
    assert isinstance(a, Value)
    return b.call(op, a, b.const(float(c)) if isinstance(c, float) else c)


def cdist(b: Builder, x: Value, train: np.ndarray, squared: bool) -> Value:
    """scipy's ``cdist`` (squared) euclidean distances ``[N, M]``, as the kernels compute them:
    from the differences, never the expansion (a model whose ``alpha_`` is large amplifies the
    expansion's rounding)."""
    diff = b.call("sub", b.call("expand_dims", x, axis=1), b.const(train))
    total = b.call("reduce", b.call("square", diff), kind="sum", axis=2, keepdims=False)
    return total if squared else b.call("sqrt", total)


def _scaled_distances(b: Builder, x: Value, train: np.ndarray, k: Any, squared: bool) -> Value:
    """Distances between ``x / length_scale`` and ``train / length_scale``."""
    scale = np.broadcast_to(np.asarray(k.length_scale, np.float64), (train.shape[1],))
    return cdist(b, columnwise(b, x, "div", scale), train / scale, squared)


def _rbf(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    return b.call("exp", b.call("mul", _scaled_distances(b, x, train, k, True), b.const(-0.5)))


def _matern(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    if k.nu == float("inf"):
        return _rbf(b, x, train, k)
    d = _scaled_distances(b, x, train, k, False)
    if k.nu == 0.5:
        return b.call("exp", b.call("neg", d))
    root = b.call("mul", d, b.const(np.sqrt(2 * k.nu)))  # sqrt(3) d or sqrt(5) d
    polynomial = b.call("add", root, b.const(1.0))
    if k.nu == 2.5:
        polynomial = b.call("add", polynomial, b.call("mul", b.call("square", root), b.const(1 / 3)))
    return b.call("mul", polynomial, b.call("exp", b.call("neg", root)))


def _rational_quadratic(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    # (1 + d / (2 a l^2))^-a as exp(-a log1p(...)): a fitted alpha reaches 1e5, where 1 + d / (2 a l^2)
    # would keep no digit of d in float32
    scaled = b.call("mul", cdist(b, x, train, True), b.const(1.0 / (2 * k.alpha * k.length_scale ** 2)))
    return b.call("exp", b.call("mul", b.call("log1p", scaled), b.const(-float(k.alpha))))


def _exp_sine_squared(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    d = cdist(b, x, train, False)
    sine = b.call("sin", b.call("mul", d, b.const(np.pi / k.periodicity)))
    return b.call("exp", b.call("mul", b.call("square", sine), b.const(-2.0 / k.length_scale ** 2)))


def _dot_product(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    return b.call("add", kernel(b, x, train, "linear"), b.const(float(k.sigma_0) ** 2))


def _compound(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    if isinstance(k, gpk.Exponentiation):
        inner = cross(b, x, train, k.kernel)
        return float(inner) ** k.exponent if isinstance(inner, float) else \
            b.call("pow", inner, b.const(float(k.exponent)))
    return _combine(b, "add" if isinstance(k, gpk.Sum) else "mul", cross(b, x, train, k.k1), cross(b, x, train, k.k2))


# kernel class -> its value between the input and the training rows
KERNELS: dict[type, Callable[[Builder, Value, np.ndarray, Any], Part]] = {
    gpk.RBF: _rbf, gpk.Matern: _matern, gpk.RationalQuadratic: _rational_quadratic,
    gpk.ExpSineSquared: _exp_sine_squared, gpk.DotProduct: _dot_product,
    gpk.ConstantKernel: lambda b, x, train, k: float(k.constant_value),
    gpk.WhiteKernel: lambda b, x, train, k: 0.0,  # no noise between distinct inputs
    gpk.Sum: _compound, gpk.Product: _compound, gpk.Exponentiation: _compound,
}


def check_kernel(owner: Any, k: Any) -> None:
    """Refuse a kernel outside :data:`KERNELS` (and a Matern of another nu) by name."""
    if type(k) not in KERNELS:
        raise UnsupportedEstimatorError(
            f"{type(owner).__name__}: kernel {type(k).__name__} is not supported "
            f"(supported: {', '.join(sorted(c.__name__ for c in KERNELS))})")
    if isinstance(k, gpk.Matern) and k.nu not in MATERN:
        raise refuse(owner, "Matern nu", k.nu, MATERN)
    if isinstance(k, gpk.RationalQuadratic) and np.ndim(k.length_scale) > 0:
        raise refuse(owner, "RationalQuadratic length_scale", "one per feature", "a single length scale")
    for child in (getattr(k, "k1", None), getattr(k, "k2", None), getattr(k, "kernel", None)):
        if child is not None:
            check_kernel(owner, child)


def cross(b: Builder, x: Value, train: np.ndarray, k: Any) -> Part:
    """``k(x, train)``: ``[N, M]``, or a float for a constant."""
    return KERNELS[type(k)](b, x, train, k)


def diagonal(b: Builder, x: Value, k: Any) -> Part:
    """``k.diag(x)``: ``[N]``, or a float where it does not depend on ``x``."""
    if isinstance(k, (gpk.Sum, gpk.Product)):
        return _combine(b, "add" if isinstance(k, gpk.Sum) else "mul", diagonal(b, x, k.k1), diagonal(b, x, k.k2))
    if isinstance(k, gpk.Exponentiation):
        inner = diagonal(b, x, k.kernel)
        return float(inner) ** k.exponent if isinstance(inner, float) else \
            b.call("pow", inner, b.const(float(k.exponent)))
    if isinstance(k, gpk.ConstantKernel):
        return float(k.constant_value)
    if isinstance(k, gpk.WhiteKernel):
        return float(k.noise_level)
    if isinstance(k, gpk.DotProduct):
        squares = b.call("reduce", b.call("square", x), kind="sum", axis=1, keepdims=False)
        return b.call("add", squares, b.const(float(k.sigma_0) ** 2))
    return 1.0  # the stationary kernels are 1 at distance 0


def _matrix(b: Builder, x: Value, part: Part, width: int) -> Value:
    """A part as ``[N, width]`` (a constant kernel's value in every column)."""
    if isinstance(part, Value):
        return part
    rows = b.call("expand_dims", same_for_every_row(b, x, 0.0), axis=1)
    return b.call("add", rows, b.const(np.full((1, width), float(part))))


def _check_regressor(est: Any) -> None:
    check_kernel(est, est.kernel_)


def _check_classifier(est: Any) -> None:
    if len(est.classes_) > 2 and est.multi_class != "one_vs_rest":
        raise refuse(est, "multi_class", est.multi_class, ["one_vs_rest"])
    for binary in _binaries(est):
        check_kernel(est, binary.kernel_)


PRECHECKS[GaussianProcessRegressor] = _check_regressor
PRECHECKS[GaussianProcessClassifier] = _check_classifier


@lowers(GaussianProcessRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_regressor(est)
    train = np.asarray(est.X_train_, np.float64)
    alpha = np.asarray(est.alpha_, np.float64)
    single = alpha.ndim == 1 or alpha.shape[1] == 1
    k = _matrix(b, x, cross(b, x, train, est.kernel_), len(train))
    mean = b.call("matmul", k, b.const(alpha.reshape(len(train), -1)))
    std = np.asarray(est._y_train_std, np.float64).reshape(-1)
    shift = np.asarray(est._y_train_mean, np.float64).reshape(-1)
    mean = b.call("add", b.call("mul", mean, b.const(std)), b.const(shift))
    return {"prediction": b.call("squeeze", mean, axis=1) if single else mean}


def _binaries(est: Any) -> list[Any]:
    base = est.base_estimator_
    return list(base.estimators_) if hasattr(base, "estimators_") else [base]


def _latent(b: Builder, x: Value, binary: Any) -> tuple[Value, Value]:
    """The latent mean ``[N]`` and variance ``[N]`` of one binary Laplace classifier."""
    train = np.asarray(binary.X_train_, np.float64)
    k = _matrix(b, x, cross(b, x, train, binary.kernel_), len(train))
    mean = b.call("squeeze", affine(b, k, np.asarray(binary.y_train_ - binary.pi_, np.float64)), axis=1)
    # v = solve(L, W_sr * K^T): |v|^2 per row is |k @ B|^2 with B = diag(W_sr) L^-T
    factor = np.linalg.solve(binary.L_, np.diag(binary.W_sr_)).T
    explained = b.call("squeeze", squared_norm_of_affine(b, k, np.zeros(len(train)), factor), axis=1)
    prior = diagonal(b, x, binary.kernel_)
    variance = b.call("sub", b.const(prior), explained) if isinstance(prior, float) else b.call("sub", prior, explained)
    return mean, variance


def _probability(b: Builder, mean: Value, variance: Value) -> Value:
    """scikit-learn's probit approximation of the positive class's probability, ``[N]``."""
    lambdas, coefs = np.asarray(LAMBDAS, np.float64).ravel(), np.asarray(COEFS, np.float64).ravel()
    a = b.call("div", b.const(0.5), variance)  # 1 / (2 v)
    column_a = b.call("expand_dims", a, axis=1)
    ratio = b.call("sqrt", b.call("div", column_a, b.call("add", column_a, b.const(lambdas ** 2))))
    erf = b.call("erf", b.call("mul", b.call("mul", b.call("expand_dims", mean, axis=1), b.const(lambdas)), ratio))
    deviation = b.call("sqrt", b.call("expand_dims", variance, axis=1))
    scale = b.call("div", b.call("sqrt", b.call("div", b.const(np.pi), column_a)),
                   b.call("mul", deviation, b.const(2 * np.sqrt(2 * np.pi))))
    integrals = b.call("mul", scale, erf)  # [N, 5]
    total = b.call("squeeze", affine(b, integrals, coefs), axis=1)
    return b.call("add", total, b.const(0.5 * coefs.sum()))


@lowers(GaussianProcessClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_classifier(est)
    latents = [_latent(b, x, binary) for binary in _binaries(est)]
    positives = [_probability(b, mean, variance) for mean, variance in latents]
    if len(est.classes_) == 2:
        p = b.call("expand_dims", positives[0], axis=1)
        proba = b.call("concat", b.call("sub", b.const(1.0), p), p, axis=1)
        positive = b.call("compare", latents[0][0], b.const(0.0), predicate="gt")
        index = b.call("cast", positive, to=DType.i64)
        return {"label": labels_from_index(b, index, est.classes_), "probabilities": proba}
    stacked = b.call("concat", *(b.call("expand_dims", p, axis=1) for p in positives), axis=1)
    proba = b.call("div", stacked, b.call("reduce", stacked, kind="sum", axis=1, keepdims=True))
    # OneVsRestClassifier keeps the last class of the highest positive probability: the first of the reversed
    n = len(est.classes_)
    reversed_index = b.call("argmax", b.call("gather", stacked, b.const(np.arange(n - 1, -1, -1)), axis=1), axis=1)
    index = b.call("sub", b.const(np.array(n - 1, np.int64)), reversed_index)
    return {"label": labels_from_index(b, index, est.classes_), "probabilities": proba}
