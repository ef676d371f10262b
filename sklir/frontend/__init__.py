"""Frontend: fitted scikit-learn estimators to IR, one converter per class."""

from sklir.frontend.registry import CONVERTERS, lower, lower_into, lowers, supported_classes

__all__ = ["CONVERTERS", "lower", "lower_into", "lowers", "supported_classes"]
