"""The comparison behind ``sklir check`` and every parity test: infinities must match exactly."""

from __future__ import annotations

import numpy as np

from sklir.check import compare_output


def test_an_infinity_in_the_reference_does_not_widen_the_tolerance() -> None:
    want = np.array([1.0, np.inf, -np.inf, np.nan])
    assert compare_output("prediction", want.copy(), want, 1e-5).ok
    # a finite error next to an infinity is judged on the finite scale (1), not an infinite one
    assert not compare_output("prediction", np.array([2.0, np.inf, -np.inf, np.nan]), want, 1e-5).ok
    # a finite value where the reference is infinite is an error
    assert not compare_output("prediction", np.array([1.0, 1e30, -np.inf, np.nan]), want, 1e-5).ok
