"""Small f32 modules, at least one per registered op, that every backend is tested on.

Each case is a module with one input ``x: f32[N,4]`` and an input generator that respects the op's
domain (positive inputs for log and sqrt, NaNs for isnan, ...). Backends are compared with the
reference interpreter at ``precision="native"`` on these.

NaN and bool semantics are numpy's and every backend must keep them, so they have cases of their
own rather than a backend's private test: bool ops on inputs with NaNs (a compare on NaN is false,
except ``ne``), compares on NaN, ±inf and signed zeros, compares of bools for every predicate, and
reductions that propagate NaN (numpy's max and min return NaN where some runtimes skip it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from sklir.ir import Builder, DType, Module, Tensor, Value, verify
from sklir.ir.dialects.arith import BINARY, COMPARE_PREDICATES, UNARY
from sklir.ir.dialects.linalg import REDUCTIONS, TopK
from sklir.ir.dialects.ml import Vote

N_FEATURES = 4
Inputs = Callable[[np.random.Generator, int], np.ndarray]


def normal(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Standard normal inputs."""
    return rng.normal(size=(batch, N_FEATURES)).astype(np.float32)


def positive(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Inputs in [0.1, 3): inside the domain of log, sqrt, reciprocal and pow's base."""
    return rng.uniform(0.1, 3.0, size=(batch, N_FEATURES)).astype(np.float32)


def with_nans(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Normal inputs with about a quarter of the entries NaN."""
    X = normal(rng, batch)
    X[rng.random(X.shape) < 0.25] = np.nan
    return X


def halves(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Multiples of 0.25 in [-4, 4], so rounding sees exact halves and compares see ties."""
    return (rng.integers(-16, 17, size=(batch, N_FEATURES)) / 4).astype(np.float32)


def tiny(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Magnitudes from 1e-12 to 1, both signs: where log1p and expm1 must keep their digits."""
    return (rng.choice([-1.0, 1.0], size=(batch, N_FEATURES)) *
            10.0 ** rng.uniform(-12, 0, size=(batch, N_FEATURES))).astype(np.float32)


def coarse(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Integers in [-1, 1]: most rows hold equal elements, so orderings see ties."""
    return rng.integers(-1, 2, size=(batch, N_FEATURES)).astype(np.float32)


def specials(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Multiples of 0.25 (ties, zeros) with about a quarter of the entries NaN and an eighth ±inf."""
    X = halves(rng, batch)
    u = rng.random(X.shape)
    X[u < 0.25] = np.nan
    X[(u >= 0.25) & (u < 0.3125)] = np.inf
    X[(u >= 0.3125) & (u < 0.375)] = -np.inf
    return X


@dataclass(frozen=True)
class OpCase:
    """A named module exercising ``ops`` and the inputs to run it on."""

    name: str
    build: Callable[[Builder, Value], dict[str, Value]]
    inputs: Inputs = normal

    @property
    def module(self) -> Module:
        """The case's verified module (built once)."""
        return _module(self)

    def X(self, batch: int, seed: int = 0) -> np.ndarray:
        """Inputs of ``batch`` rows."""
        return self.inputs(np.random.default_rng(seed), batch)


@cache
def _module(case: OpCase) -> Module:
    b, x = Builder.new(case.name, N_FEATURES)
    for name, value in case.build(b, x).items():
        b.output(name, value)
    return verify(b.module)


def f32(b: Builder, array: object) -> Value:
    """An f32 constant."""
    return b.const(np.asarray(array, dtype=np.float32), DType.f32)


VECTOR = [0.5, -1.25, 2.0, 3.0]
DOMAIN = {"log": positive, "log1p": positive, "sqrt": positive, "rsqrt": positive, "reciprocal": positive,
          "round": halves, "floor": halves, "ceil": halves, "sign": halves, "isnan": with_nans}


def _positive_and_below(b: Builder, x: Value) -> tuple[Value, Value]:
    """Two bool masks of ``x`` (``x > 0`` and ``x < VECTOR``), both false where ``x`` is NaN."""
    return (b.call("compare", x, f32(b, 0.0), predicate="gt"),
            b.call("compare", x, f32(b, VECTOR), predicate="lt"))


def _unary_case(name: str, accepts: str) -> OpCase:
    if accepts == "bool":
        # with NaNs: x > 0 is false at NaN, so logical_not must give true there (not x <= 0)
        return OpCase(name, lambda b, x: {"out": b.call(name, _positive_and_below(b, x)[0])}, with_nans)
    return OpCase(name, lambda b, x: {"out": b.call(name, x)}, DOMAIN.get(name, normal))


def _binary_case(name: str, accepts: str) -> OpCase:
    if accepts == "bool":
        return OpCase(name, lambda b, x: {"out": b.call(name, *_positive_and_below(b, x))}, with_nans)
    base = positive if name in ("pow", "div") else normal
    return OpCase(name, lambda b, x: {"vector": b.call(name, x, f32(b, VECTOR if name != "pow" else [0.5, 2, 3, 1.5])),
                                      "tensor": b.call(name, x, b.call("abs", x) if name == "pow" else x)}, base)


def _int_case(name: str) -> OpCase:
    def build(b: Builder, x: Value) -> dict[str, Value]:
        i = b.call("cast", b.call("floor", x), to=DType.i64)
        return {"out": b.call(name, i, b.const(np.array([1, -2, 3, 4], dtype=np.int64))) if name in BINARY
                else b.call(name, i)}
    return OpCase(f"{name}_i64", build, halves)


def _labels(classes: np.ndarray, dtype: DType) -> OpCase:
    return OpCase(f"label_lookup_{dtype.value}", lambda b, x: {
        "label": b.call("label_lookup", b.call("argmax", x, axis=1), classes=Tensor(classes, dtype))})


def _reduce_case(kind: str, keepdims: bool, inputs: Inputs = normal, suffix: str = "") -> OpCase:
    return OpCase(f"reduce_{kind}{'_keepdims' if keepdims else ''}{suffix}",
                  lambda b, x: {"out": b.call("reduce", x, kind=kind, axis=1, keepdims=keepdims)}, inputs)


def _compare_cases(predicate: str) -> list[OpCase]:
    """Floats with ties, floats with NaN, ±inf and signed zeros, and bools, under one predicate."""
    def ties(b: Builder, x: Value) -> dict[str, Value]:
        return {"out": b.call("compare", x, f32(b, [0.0, 0.25, -0.5, 1.0]), predicate=predicate)}

    def edge_values(b: Builder, x: Value) -> dict[str, Value]:
        # against its negation: NaN on both sides, inf against -inf, 0 against -0
        return {"vector": b.call("compare", x, f32(b, [0.0, 0.25, -0.5, 1.0]), predicate=predicate),
                "negated": b.call("compare", x, b.call("neg", x), predicate=predicate)}

    def bools(b: Builder, x: Value) -> dict[str, Value]:
        p, q = _positive_and_below(b, x)
        # both orders: every pair of (false, true) appears on either side
        return {"pq": b.call("compare", p, q, predicate=predicate),
                "qp": b.call("compare", q, p, predicate=predicate)}

    return [OpCase(f"compare_{predicate}", ties, halves),
            OpCase(f"compare_{predicate}_specials", edge_values, specials),
            OpCase(f"compare_{predicate}_bool", bools, with_nans)]


def _tree_ensemble(b: Builder, x: Value, categorical: bool = False) -> dict[str, Value]:
    """Two small trees, thresholds on the ``halves`` grid, NaN sent left at some nodes only;
    ``categorical``: nodes 2 and 7 split on category codes (fractions and negatives go the
    missing-value way)."""
    from sklir.ir.dialects.ml import TreeEnsemble

    i64, f32_ = DType.i64, DType.f32
    sides = {"categorical": Tensor([2, 7], i64),
             "category_left": Tensor([[True, False, True], [False, True, False]], DType.bool)} if categorical else {}
    op = TreeEnsemble(**sides,
        feature=Tensor([1, 0, 3, 0, 0, 0, 0, 2, 0, 0], i64),
        threshold=Tensor([0.5, 0, -0.5, 0, 0, 0.0, 0, 1.0, 0, 0], f32_),
        left=Tensor([1, 1, 3, 3, 4, 6, 6, 8, 8, 9], i64), right=Tensor([2, 1, 4, 3, 4, 7, 6, 9, 8, 9], i64),
        missing_left=Tensor([True, False, False, False, False, False, False, True, False, False], DType.bool),
        roots=Tensor([0, 5], i64), values=Tensor(np.arange(20.0).reshape(10, 2) / 8, f32_),
        weights=Tensor([0.5, 2.0], f32_), base=Tensor([0.25, -1.0], f32_))
    leaves, scores = b.apply(op, x)
    return {"leaves": leaves, "scores": scores}


def _kernel(metric: str, vectors: np.ndarray) -> Callable[[Builder, Value], dict[str, Value]]:
    """Every metric of ``kernel`` against fixed vectors (one of them a zero row, for cosine)."""
    from sklir.ir.dialects.ml import Kernel

    def build(b: Builder, x: Value) -> dict[str, Value]:
        op = Kernel(vectors=Tensor(vectors, DType.f32), metric=metric, gamma=0.3, coef0=0.5, degree=3.0, p=3.0)
        (out,) = b.apply(op, x)
        return {"out": out}

    return build


KERNEL_VECTORS = np.array([[0.5, -1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [-1.5, 0.25, 1.0, -0.5]])


def _kernel_cases() -> list[OpCase]:
    from sklir.ir.dialects.ml import KERNELS
    from sklir.passes.lower_kernels import DIFFERENCES_MAX

    cases = [OpCase(f"kernel_{metric}", _kernel(metric, KERNEL_VECTORS)) for metric in KERNELS
             if metric != "additive_chi2"]
    # defined on non-negative features; one vector of zeros gives the 0 / 0 terms it skips
    cases.append(OpCase("kernel_additive_chi2", _kernel("additive_chi2", np.abs(KERNEL_VECTORS)), positive))
    # beyond DIFFERENCES_MAX the squared distances take the matrix-product expansion
    many = np.random.default_rng(3).standard_normal((DIFFERENCES_MAX // N_FEATURES + 1, N_FEATURES))
    cases += [OpCase(f"kernel_{metric}_expanded", _kernel(metric, many)) for metric in ("rbf", "euclidean")]
    return cases


CASES: list[OpCase] = [
    *(_unary_case(name, accepts) for name, (_, accepts, _) in UNARY.items()),
    *(_binary_case(name, accepts) for name, (_, accepts) in BINARY.items()),
    # tiny arguments, where the naive forms log(1 + x) and exp(x) - 1 keep no digit
    *(OpCase(f"{name}_tiny", lambda b, x, name=name: {"out": b.call(name, x)}, tiny) for name in ("log1p", "expm1")),
    *(_int_case(name) for name in ("neg", "abs", "sign", "square", "add", "sub", "mul", "maximum", "minimum")),
    *(case for p in COMPARE_PREDICATES for case in _compare_cases(p)),
    OpCase("select", lambda b, x: {"out": b.call("select", b.call("isnan", x), f32(b, VECTOR), x)}, with_nans),
    OpCase("clip", lambda b, x: {"both": b.call("clip", x, min=-0.5, max=1.0),
                                 "lower_only": b.call("clip", x, min=0.0, max=float("inf"))}),
    *(OpCase(f"cast_{to.value}", lambda b, x, to=to: {"out": b.call("cast", x, to=to)}, halves)
      for to in (DType.i32, DType.i64, DType.bool)),
    OpCase("cast_back", lambda b, x: {
        "from_bool": b.call("cast", b.call("compare", x, f32(b, 0.0), predicate="gt"), to=DType.f32),
        "from_i64": b.call("cast", b.call("argmax", x, axis=1), to=DType.f32)}),
    OpCase("constant", lambda b, x: {"out": b.call("add", x, f32(b, [[1.0, 2.0, 3.0, 4.0]]))}),
    # infinities as constants, not only as inputs: compared with, and added to
    OpCase("constant_infinities", lambda b, x: {
        "eq": b.call("compare", x, f32(b, [-np.inf, np.inf, -np.inf, np.inf]), predicate="eq"),
        "lt": b.call("compare", x, f32(b, [-np.inf, np.inf, -np.inf, np.inf]), predicate="lt"),
        "shifted": b.call("add", x, f32(b, [1.0, -1.0, -np.inf, np.inf]))}, specials),
    OpCase("concat", lambda b, x: {"out": b.call("concat", x, b.call("square", x), x, axis=1)}),
    OpCase("gather_columns", lambda b, x: {
        "out": b.call("gather", x, b.const(np.array([3, 0, 0, 2], dtype=np.int64)), axis=1)}),
    # adjacent columns: the TFLite backend emits a run of constant indices as a SLICE
    OpCase("gather_column_run", lambda b, x: {
        "out": b.call("gather", x, b.const(np.array([1, 2, 3], dtype=np.int64)), axis=1)}),
    # computed integers gathered (a tree walk putting its columns back in tree order): TFLite
    # Micro's GATHER takes no int32, and the converter must not undo the float32 detour
    OpCase("gather_computed_integers", lambda b, x: {
        "out": b.call("gather", b.call("sub", b.call("cast", b.call("round", x), to=DType.i32),
                                       b.const(np.array(1), DType.i32)),
                      b.const(np.array([3, 0, 0, 2], dtype=np.int64)), axis=1)}),
    OpCase("gather_table", lambda b, x: {
        "out": b.call("gather", f32(b, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]),
                      b.call("argmax", x, axis=1), axis=0)}),
    # i16 and i8 only store: a compact table read by gather, then widened (lower-trees' leaf and
    # feature numbers)
    OpCase("gather_i16_table", lambda b, x: {
        "out": b.call("cast", b.call("gather", b.const(np.array([3, -7, 32767, -32768], np.int16), DType.i16),
                                     b.call("argmax", x, axis=1), axis=0), to=DType.i32)}),
    OpCase("gather_i8_table", lambda b, x: {
        "out": b.call("cast", b.call("gather", b.const(np.array([3, -7, 127, -128], np.int8), DType.i8),
                                     b.call("argmax", x, axis=1), axis=0), to=DType.i32)}),
    OpCase("take_along_axis", lambda b, x: {
        "out": b.call("take_along_axis", x, b.call("expand_dims", b.call("argmax", x, axis=1), axis=1), axis=1)}),
    # one row of indices for every row of x: numpy broadcasts the size-1 dimension
    OpCase("take_along_axis_broadcast", lambda b, x: {
        "out": b.call("take_along_axis", x, b.const(np.array([[3, 0, 3]], dtype=np.int64)), axis=1)}),
    OpCase("squeeze_expand_dims", lambda b, x: {
        "squeezed": b.call("squeeze", b.call("reduce", x, kind="sum", axis=1, keepdims=True), axis=1),
        "expanded": b.call("expand_dims", b.call("reduce", x, kind="max", axis=1, keepdims=False), axis=1)}),
    OpCase("matmul", lambda b, x: {"out": b.call("matmul", x, f32(b, np.arange(12.0).reshape(4, 3) / 7))}),
    OpCase("softmax", lambda b, x: {"out": b.call("softmax", x, axis=1)}),
    OpCase("argmax", lambda b, x: {"out": b.call("argmax", x, axis=1)}, halves),
    # ties (halves) must come lower index first, for the largest and the smallest
    *(OpCase(f"top_k_{'largest' if largest else 'smallest'}", lambda b, x, largest=largest: dict(zip(
        ("values", "indices"), b.apply(TopK(k=3, largest=largest), x), strict=True)), coarse)
      for largest in (True, False)),
    *(_reduce_case(kind, keepdims) for kind in REDUCTIONS for keepdims in (False, True)),
    # NaN propagates (rows with some, rows all NaN), and +inf + -inf is NaN in sum and mean
    *(_reduce_case(kind, False, specials, "_specials") for kind in REDUCTIONS),
    *(_reduce_case(kind, False, with_nans, "_nans") for kind in REDUCTIONS),
    _labels(np.array(["setosa", "versicolor", "virginica", "ünïcode"], dtype=object), DType.str),
    _labels(np.array([3, -1, 7, 10**12], dtype=np.int64), DType.i64),
    _labels(np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32), DType.f32),
    _labels(np.array([True, False, False, True]), DType.bool),
    # lowered by lower-trees before a backend sees it: the case runs the lowering on every backend
    OpCase("tree_ensemble", _tree_ensemble, halves),
    OpCase("tree_ensemble_nans", _tree_ensemble, with_nans),
    # lowered by lower-votes: ties at 0 go to the second class of the pair
    OpCase("vote", lambda b, x: {"votes": b.apply(Vote(pairs=Tensor(np.array(
        [[0, 1], [0, 2], [1, 2], [3, 0]], np.int64)), classes=4), x)[0]}, halves),
    # lowered by lower-kernels: every metric, both forms of the squared distances
    *_kernel_cases(),
    OpCase("tree_ensemble_categorical", lambda b, x: _tree_ensemble(b, x, categorical=True), halves),
    OpCase("tree_ensemble_categorical_nans", lambda b, x: _tree_ensemble(b, x, categorical=True), with_nans),
]


def ops_covered() -> set[str]:
    """Names of the ops that appear in some case."""
    return {node.op.name for case in CASES for node in case.module.nodes}
