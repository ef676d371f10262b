"""Column-wise nonlinear preprocessing (issue 9): PowerTransformer, KBinsDiscretizer, KernelCenterer.

- PowerTransformer: scipy's Yeo-Johnson or Box-Cox per column with the fitted ``lambdas_``, in the
  accurate forms scipy uses (``expm1(l * log1p(x)) / l`` rather than ``((1 + x)^l - 1) / l``;
  ``log1p`` where ``l`` is 0), then the fitted standardisation when ``standardize``.
- KBinsDiscretizer: each value's bin, the number of inner edges at or below it (``searchsorted``
  on the right), as a float code (``ordinal``) or one-hot per feature (``onehot``, dense).
- KernelCenterer: ``K - K_fit_rows_ - K.mean(axis=1) + K_fit_all_`` for a kernel matrix ``K``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import (
    KBinsDiscretizer,
    KernelCenterer,
    PowerTransformer,
    QuantileTransformer,
    SplineTransformer,
)

from sklir.frontend.affine import columnwise, side_by_side
from sklir.frontend.outputs import same_for_every_row
from sklir.frontend.registry import lowers, transform_into
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def _power(b: Builder, logged: Value, lambdas: np.ndarray) -> Value:
    """``expm1(l * logged) / l`` column-wise, ``logged`` itself in the columns where ``l`` is 0:
    ``(u^l - 1) / l`` from ``logged = log(u)``, its limit at 0 included."""
    zero = lambdas == 0
    safe = np.where(zero, 1.0, lambdas)
    powered = b.call("div", b.call("expm1", columnwise(b, logged, "mul", safe)), b.const(safe))
    return b.call("select", b.const(zero.reshape(1, -1)), logged, powered) if zero.any() else powered


def _yeo_johnson(b: Builder, x: Value, lambdas: np.ndarray) -> Value:
    zero = b.const(0.0)
    positive = b.call("compare", x, zero, predicate="ge")
    above = _power(b, b.call("log1p", b.call("maximum", x, zero)), lambdas)
    below = b.call("neg", _power(b, b.call("log1p", b.call("maximum", b.call("neg", x), zero)), 2.0 - lambdas))
    return b.call("select", positive, above, below)


def _box_cox(b: Builder, x: Value, lambdas: np.ndarray) -> Value:
    # scipy's boxcox: expm1(l * log(x)) / l, log(x) where l is 0 (x > 0, which fit and transform require)
    return _power(b, b.call("log", x), lambdas)


METHODS = {"yeo-johnson": _yeo_johnson, "box-cox": _box_cox}


@lowers(PowerTransformer)
def _power_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    out = METHODS[est.method](b, x, np.asarray(est.lambdas_, np.float64))
    if est.standardize:
        out = transform_into(est._scaler, b, out)
    return {"transform": out}


@lowers(KBinsDiscretizer)
def _k_bins(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    columns = []
    for j, edges in enumerate(est.bin_edges_):
        inner = np.asarray(edges, np.float64)[1:-1]
        column = b.call("gather", x, b.const(np.array([j], np.int64)), axis=1)  # [N, 1]
        if len(inner) == 0:  # one bin: code 0 for every row
            code = b.call("expand_dims", same_for_every_row(b, x, 0.0), axis=1)
        else:
            at_or_below = b.call("compare", column, b.const(inner.reshape(1, -1)), predicate="ge")
            code = b.call("reduce", b.call("cast", at_or_below, to=DType.f64), kind="sum", axis=1, keepdims=True)
        if est.encode == "ordinal":
            columns.append(code)
        else:
            bins = np.arange(int(est.n_bins_[j]), dtype=np.float64).reshape(1, -1)
            columns.append(b.call("cast", b.call("compare", code, b.const(bins), predicate="eq"), to=DType.f64))
    return {"transform": side_by_side(b, columns)}


def centred_kernel(b: Builder, k: Value, centerer: Any) -> Value:
    """A fitted KernelCenterer's ``transform`` of the kernel matrix ``k`` ``[N, M]`` (KernelPCA's too)."""
    rows = np.asarray(centerer.K_fit_rows_, np.float64)
    mean = b.call("div", b.call("reduce", k, kind="sum", axis=1, keepdims=True), b.const(float(len(rows))))
    centred = b.call("sub", columnwise(b, k, "sub", rows), mean)
    return b.call("add", centred, b.const(float(centerer.K_fit_all_)))


@lowers(KernelCenterer)
def _kernel_centerer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"transform": centred_kernel(b, x, est)}


# QuantileTransformer's margin at the ends of the fitted range (scikit-learn's BOUNDS_THRESHOLD)
QUANTILE_BOUND = 1e-7

# Acklam's rational approximation of the normal quantile function (relative error below 1.15e-9):
# the central region's numerator and denominator in r = (p - 1/2)^2, the tails' in q = sqrt(-2 log p)
_CENTRAL = ([-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
             -3.066479806614716e+01, 2.506628277459239e+00],
            [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
             -1.328068155288572e+01, 1.0])
_TAIL = ([-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
          4.374664141464968e+00, 2.938163982698783e+00],
         [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0])
_TAIL_START = 0.02425


def _polynomial(b: Builder, t: Value, coefficients: list[float]) -> Value:
    """Horner's rule, highest power first."""
    out = b.const(coefficients[0])
    for c in coefficients[1:]:
        out = b.call("add", b.call("mul", out, t), b.const(c))
    return out


def normal_quantile(b: Builder, p: Value, complement: Value) -> Value:
    """``scipy.stats.norm.ppf(p)`` for ``p`` in (0, 1), by Acklam's approximation (relative error
    below 1.15e-9; in the centre refined by a Newton step): a rational function of
    ``(p - 1/2)^2`` in the centre, of ``sqrt(-2 log p)`` in the lower tail and of
    ``sqrt(-2 log(1 - p))`` in the upper. ``complement`` is ``1 - p``
    computed on its own: in float32 ``1 - p`` near 1 keeps no digits, so the upper tail reads it."""
    q = b.call("sub", p, b.const(0.5))
    r = b.call("mul", q, q)
    central = b.call("div", b.call("mul", _polynomial(b, r, _CENTRAL[0]), q), _polynomial(b, r, _CENTRAL[1]))
    # one Newton step on Phi(z) = p: the central fraction's alternating coefficients cancel in
    # float32 (1e-5 relative); Phi through erf is good to 1e-7 there, where the density is not small
    cdf = b.call("mul", b.const(0.5), b.call("add", b.const(1.0),
                                              b.call("erf", b.call("mul", central, b.const(float(np.sqrt(0.5)))))))
    inverse_density = b.call("mul", b.const(float(np.sqrt(2 * np.pi))),
                             b.call("exp", b.call("mul", b.const(0.5), b.call("mul", central, central))))
    central = b.call("sub", central, b.call("mul", b.call("sub", cdf, p), inverse_density))
    upper = b.call("compare", p, b.const(0.5), predicate="gt")
    near = b.call("select", upper, complement, p)
    # kept away from 0 where the centre is used anyway
    t = b.call("sqrt", b.call("mul", b.const(-2.0), b.call("log", b.call("maximum", near, b.const(1e-30)))))
    tail = b.call("div", _polynomial(b, t, _TAIL[0]), _polynomial(b, t, _TAIL[1]))
    signed = b.call("select", upper, b.call("neg", tail), tail)
    in_tail = b.call("compare", near, b.const(_TAIL_START), predicate="lt")
    return b.call("select", in_tail, signed, central)


def _interp(b: Builder, x: Value, xp: np.ndarray, fp: np.ndarray) -> Value:
    """``numpy.interp`` of each column of ``x`` ``[N, F]`` on its own table (``xp``, ``fp``:
    ``[F, Q]``, ``xp`` non-decreasing) as numpy computes it: ``j`` the last knot at or below
    ``x``; ``fp[0]`` below the first knot, ``fp[-1]`` from the last, ``fp[j]`` on a knot, else
    ``slope[j] * (x - xp[j]) + fp[j]``."""
    features, knots = xp.shape
    at_or_below = b.call("compare", b.call("expand_dims", x, axis=2), b.const(xp), predicate="ge")
    count = b.call("reduce", b.call("cast", at_or_below, to=DType.f64), kind="sum", axis=2, keepdims=False)
    j = b.call("cast", b.call("clip", b.call("sub", count, b.const(1.0)), min=0.0, max=float(knots - 2)),
               to=DType.i64)
    flat = b.call("add", j, b.const(np.arange(features, dtype=np.int64) * knots))
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.diff(fp, axis=1) / np.diff(xp, axis=1)
    slopes = np.concatenate([np.where(np.isfinite(slopes), slopes, 0.0), np.zeros((features, 1))], axis=1)

    def at(table: np.ndarray) -> Value:
        return b.call("gather", b.const(table.reshape(-1)), flat, axis=0)

    x_j = at(xp)
    inside = b.call("add", b.call("mul", at(slopes), b.call("sub", x, x_j)), at(fp))
    out = b.call("select", b.call("compare", x, x_j, predicate="eq"), at(fp), inside)
    out = b.call("select", b.call("compare", count, b.const(float(knots)), predicate="ge"), b.const(fp[:, -1]), out)
    return b.call("select", b.call("compare", x, b.const(xp[:, 0]), predicate="lt"), b.const(fp[:, 0]), out)


@lowers(QuantileTransformer)
def _quantile_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """The average of ``interp`` forwards and backwards (ties between quantiles land midway), the
    ends of the fitted range pinned to 0 and 1, then the normal quantile function for
    ``output_distribution="normal"``, clipped as scikit-learn clips it; NaN stays NaN."""
    quantiles = np.asarray(est.quantiles_, np.float64).T  # [F, Q]
    references = np.broadcast_to(np.asarray(est.references_, np.float64), quantiles.shape)

    def position(values: np.ndarray) -> Value:
        """``0.5 * (interp(x, q, values) - interp(-x, -q[::-1], -values[::-1]))``."""
        forward = _interp(b, x, quantiles, values)
        backward = _interp(b, b.call("neg", x), -quantiles[:, ::-1], -values[:, ::-1])
        return b.call("mul", b.const(0.5), b.call("sub", forward, backward))

    low, high = quantiles[:, 0], quantiles[:, -1]
    if est.output_distribution == "normal":
        # x - bound < low, written as a comparison with a constant: to-f32 rounds the bound so that
        # float32 inputs decide as they do in float64 (adding 1e-7 to a float32 x would do nothing)
        at_low = b.call("compare", x, b.const(low + QUANTILE_BOUND), predicate="lt")
        at_high = b.call("compare", x, b.const(high - QUANTILE_BOUND), predicate="gt")
    else:
        at_low = b.call("compare", x, b.const(low), predicate="eq")
        at_high = b.call("compare", x, b.const(high), predicate="eq")

    def pinned(v: Value, at_zero: Value, at_one: Value) -> Value:
        return b.call("select", at_zero, b.const(0.0), b.call("select", at_one, b.const(1.0), v))

    u = pinned(position(references), at_low, at_high)
    if est.output_distribution == "normal":
        from scipy import stats

        # 1 - u from the complementary references (interp is linear in them): exact near 1 in float32
        complement = pinned(position(1.0 - references), at_high, at_low)
        spacing = float(np.spacing(1))
        lowest = float(stats.norm.ppf(QUANTILE_BOUND - spacing))
        highest = float(stats.norm.ppf(1 - (QUANTILE_BOUND - spacing)))
        u = b.call("clip", normal_quantile(b, u, complement), min=lowest, max=highest)
    return {"transform": b.call("select", b.call("isnan", x), x, u)}


def _bspline_basis(b: Builder, x: Value, knots: np.ndarray, degree: int) -> Value:
    """Every B-spline basis function of ``knots`` at ``x`` ``[N, 1]``: ``[N, len(knots) - degree - 1]``,
    by the Cox-de Boor recursion on the interval scipy evaluates (the last knot at or below ``x``,
    clamped to the base interval, so that beyond it the end pieces continue as with
    ``extrapolate=True``)."""
    count = len(knots)
    n = count - degree - 1
    at_or_below = b.call("cast", b.call("compare", x, b.const(knots), predicate="ge"), to=DType.f64)
    interval = b.call("clip", b.call("sub", b.call("reduce", at_or_below, kind="sum", axis=1, keepdims=True),
                                     b.const(1.0)), min=float(degree), max=float(n - 1))
    basis = b.call("cast", b.call("compare", interval, b.const(np.arange(count - 1, dtype=np.float64)),
                                  predicate="eq"), to=DType.f64)
    for d in range(1, degree + 1):
        j = np.arange(count - 1 - d)
        with np.errstate(divide="ignore"):
            left = np.where(knots[j + d] > knots[j], 1.0 / (knots[j + d] - knots[j]), 0.0)
            right = np.where(knots[j + d + 1] > knots[j + 1], 1.0 / (knots[j + d + 1] - knots[j + 1]), 0.0)
        lower = b.call("gather", basis, b.const(j), axis=1)
        upper = b.call("gather", basis, b.const(j + 1), axis=1)
        rising = b.call("mul", b.call("mul", b.call("sub", x, b.const(knots[j])), b.const(left)), lower)
        falling = b.call("mul", b.call("mul", b.call("sub", b.const(knots[j + d + 1]), x), b.const(right)), upper)
        basis = b.call("add", rising, falling)
    return basis


def _spline_feature(b: Builder, est: Any, x: Value, spline: Any, boundary: int) -> Value:
    """One feature's columns of ``SplineTransformer.transform``; ``boundary`` is the degree its
    loop uses for the fitted range's ends (see :func:`_spline_transformer`)."""
    knots, degree = np.asarray(spline.t, np.float64), int(spline.k)
    coefficients = np.asarray(spline.c, np.float64)
    n = len(knots) - degree - 1
    if est.extrapolation == "periodic":
        period = knots[n] - knots[degree]
        if period > 0:
            shifted = b.call("sub", x, b.const(knots[degree]))
            wrapped = b.call("sub", shifted, b.call("mul", b.call("floor", b.call("div", shifted, b.const(period))),
                                                    b.const(period)))
            x_at = b.call("add", wrapped, b.const(knots[degree]))
        else:  # a constant feature
            x_at = b.call("mul", x, b.const(0.0))
    else:
        x_at = x
    basis = _bspline_basis(b, x_at, knots, degree)
    values = basis if np.array_equal(coefficients, np.eye(n)) else b.call("matmul", basis, b.const(coefficients))
    width = coefficients.shape[1]
    zero = b.const(0.0)
    if est.extrapolation in ("constant", "linear"):
        low, high = knots[boundary], knots[-boundary - 1]
        f_low, f_high = spline(low), spline(high)
        below = b.call("compare", x, b.const(low), predicate="lt")
        above = b.call("compare", x, b.const(high), predicate="gt")
        # scikit-learn continues one more basis function linearly for degree 0 and 1
        ends = boundary if est.extrapolation == "constant" or boundary > 1 else boundary + 1
        first, last = np.zeros(width), np.zeros(width)
        first[:ends], last[width - ends:] = f_low[:ends], f_high[width - ends:]
        under: Value = b.const(first)
        over: Value = b.const(last)
        if est.extrapolation == "linear":
            slope_low, slope_high = np.zeros(width), np.zeros(width)
            slope_low[:ends], slope_high[width - ends:] = spline(low, nu=1)[:ends], spline(high, nu=1)[width - ends:]
            under = b.call("add", under, b.call("mul", b.call("sub", x, b.const(low)), b.const(slope_low)))
            over = b.call("add", over, b.call("mul", b.call("sub", x, b.const(high)), b.const(slope_high)))
        values = b.call("select", below, under, b.call("select", above, over, values))
    elif est.extrapolation == "error":
        # scikit-learn refuses a value beyond the fitted range; an artefact gives NaN for it
        low, high = knots[degree], knots[n]
        outside = b.call("logical_or", b.call("compare", x, b.const(low), predicate="lt"),
                         b.call("compare", x, b.const(high), predicate="gt"))
        values = b.call("select", outside, b.const(np.nan), values)
    values = b.call("select", b.call("isnan", x), zero, values)
    if not est.include_bias:
        values = b.call("gather", values, b.const(np.arange(width - 1)), axis=1)
    return values


@lowers(SplineTransformer)
def _spline_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """Each feature's B-spline basis (periodic: the input wrapped into the base interval and the
    wrapped basis summed as the fitted coefficients say), beyond the fitted range continued,
    held constant or linear as ``extrapolation`` says; NaN rows give 0."""
    columns = []
    # scikit-learn 1.9's loop over the features raises its own degree by one for linear
    # extrapolation of degree 0 or 1, and keeps it raised for the next features, whose fitted range
    # ends then sit at knots[degree] and knots[-degree - 1] of that raised degree: reproduced
    boundary = int(est.degree)
    for f, spline in enumerate(est.bsplines_):
        columns.append(_spline_feature(b, est, b.call("gather", x, b.const(np.array([f])), axis=1), spline, boundary))
        if est.extrapolation == "linear" and boundary <= 1:
            boundary += 1
    return {"transform": side_by_side(b, columns)}
