"""Reading what the CLI is given: a model file (pickle, skops, Keras or IR text) and a data file.

A model file holds a fitted scikit-learn estimator (``.joblib``, ``.pkl``, ``.skops``), a Keras
model (``.keras`` loaded in safe mode, or a legacy ``.h5``; Keras is imported only then) or an
IR module (``.sklir``, parsed without the frontend). Every way a file can be wrong (missing, not a
model, an untrusted type, data of the wrong width) is an :class:`~sklir.errors.InputFileError` or
another :class:`~sklir.errors.SklirError` with a one-line message naming the file.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sklir.errors import InputFileError, ParseError
from sklir.ir.core import Module


def require_file(path: Path) -> None:
    """Raise a one-line error unless ``path`` is an existing regular file (naming a symlink loop,
    a dangling link or a directory as such)."""
    try:
        path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputFileError(f"{path}: a symbolic link loop (the link never reaches a file)") from None
        if path.is_symlink():
            raise InputFileError(f"{path}: a symbolic link to a missing file") from None
        raise InputFileError(f"{path}: no such file" if e.errno == errno.ENOENT else f"{path}: {e.strerror}") from None
    if not path.is_file():
        raise InputFileError(f"{path}: not a file")


def _load_pickle(path: Path, trust: Sequence[str]) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except MemoryError:
        raise
    # Unpickling bytes we did not write can raise almost any exception type (UnpicklingError,
    # EOFError, KeyError, ValueError, ImportError, ...): every one of them means "not a model
    # file we can load", so each becomes a one-line error that keeps the original reason.
    except Exception as e:
        raise InputFileError(f"{path}: not a loadable joblib/pickle file ({_reason(e)})") from None


def _load_skops(path: Path, trust: Sequence[str]) -> Any:
    import zipfile

    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError) as e:
        raise InputFileError(f"{path}: not a skops file ({_reason(e)})") from None
    refused = [t for t in untrusted if t not in set(trust)]
    if refused:
        flags = " ".join(f"--trust {t}" for t in refused)
        raise InputFileError(f"{path}: refusing untrusted type(s) {', '.join(refused)}; "
                             f"if you trust this file, pass {flags}")
    try:
        return sio.load(path, trusted=list(untrusted))
    except MemoryError:
        raise
    except ImportError as e:
        # a trusted type whose module this Python no longer has (renamed, uninstalled)
        raise InputFileError(f"{path}: cannot load a type it holds ({_reason(e)}); "
                             "is the library that defined it installed?") from None
    # a skops archive whose schema is malformed fails in assorted ways while its tree is rebuilt
    except Exception as e:
        raise InputFileError(f"{path}: a malformed skops file ({_reason(e)})") from None


def _load_ir(path: Path, trust: Sequence[str]) -> Module:
    from sklir.ir.parser import parse

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not IR text (it is not UTF-8)") from None
    try:
        return parse(text)
    except ParseError as e:
        # the file name in front, like a compiler: FILE:LINE:COLUMN
        where = f"{path}:{e.line}:{e.column}" if e.line is not None else str(path)
        located = ParseError(f"{where}: {_strip_location(str(e))}")
        located.line, located.column = e.line, e.column
        raise located from None


def _reason(e: BaseException) -> str:
    """An exception as ``Type: first line of its message``."""
    return _first_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


def _strip_location(message: str) -> str:
    head, sep, rest = message.partition(": ")
    return rest if sep and head.startswith("line ") else message


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _load_keras(path: Path, trust: Sequence[str]) -> Any:
    """A Keras model from a ``.keras`` archive (in safe mode: no code runs) or a legacy ``.h5`` file."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import zipfile

    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise InputFileError(f"{path}: not a Keras archive (a .keras file is a zip archive; this one is corrupt "
                             "or something else)")
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds; every one is this file's problem
        text = str(e)
        if "safe_mode" in text or "unsafe" in text.lower():
            raise InputFileError(f"{path}: needs unsafe deserialisation (it holds a Lambda layer or custom code); "
                                 "sklir loads Keras files in safe mode only") from None
        reason = _first_line(text) or type(e).__name__
        raise InputFileError(f"{path}: not a loadable Keras model ({reason})") from None


def _library(name: str, extra: str) -> Any:
    """The gradient-boosting library ``name``, or a one-line error saying how to install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise InputFileError(f"reading this model needs {name}: pip install 'sklir[{extra}]'") from None


def _native_reason(e: BaseException) -> str:
    """A native library's error as its message alone: the first line, without the timestamp and
    source location XGBoost and CatBoost put first (``[01:21:20] src/c_api/c_api.cc:1532: ...``)."""
    import re

    return re.sub(r"^(\[[^\]]*\]\s*)?\S+:\d+:\s*", "", _first_line(str(e))) or type(e).__name__


def _quietly(load: Callable[[], Any]) -> Any:
    """``load()`` with what a library prints while it fails (LightGBM's ``[Fatal]`` lines) kept
    off the terminal: the error line says it."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return load()


def _load_xgboost(path: Path, trust: Sequence[str]) -> Any:
    """An XGBoost model file (``save_model``'s ``.json`` or ``.ubj``) as a bare Booster."""
    xgboost = _library("xgboost", "xgboost")
    try:
        return xgboost.Booster(model_file=str(path))
    except Exception as e:  # noqa: BLE001 - XGBoost raises its own XGBoostError for any bad file
        raise InputFileError(f"{path}: not an XGBoost model file ({_native_reason(e)})") from None


def _load_lightgbm(path: Path, trust: Sequence[str]) -> Any:
    """A LightGBM model text file (``save_model``'s ``.txt``) as a bare Booster."""
    lightgbm = _library("lightgbm", "lightgbm")
    with path.open("rb") as f:
        if not f.read(5) == b"tree\n":  # LightGBM's model text starts so; its reader aborts on others
            raise InputFileError(f"{path}: not a LightGBM model file (it does not start with 'tree')")
    try:
        return _quietly(lambda: lightgbm.Booster(model_file=str(path)))
    except Exception as e:  # noqa: BLE001 - LightGBM raises LightGBMError for any bad file
        raise InputFileError(f"{path}: not a LightGBM model file ({_native_reason(e)})") from None


def _load_catboost(path: Path, trust: Sequence[str]) -> Any:
    """A CatBoost model file (``save_model``'s ``.cbm``) as the classifier or regressor its loss says."""
    catboost = _library("catboost", "catboost")
    try:
        loss = catboost.CatBoost().load_model(str(path)).get_all_params()["loss_function"]
    except Exception as e:  # noqa: BLE001 - CatBoost raises CatBoostError for any bad file
        raise InputFileError(f"{path}: not a CatBoost model file ({_native_reason(e)})") from None
    from sklir.frontend.catboost_frontend import LINKS

    # a loss sklir lowers with a probability link is a classifier's; any other loss is refused,
    # by name, when the model is lowered
    classifying = LINKS.get(loss.split(":")[0]) in ("sigmoid", "softmax")
    model = catboost.CatBoostClassifier() if classifying else catboost.CatBoostRegressor()
    return model.load_model(str(path))


# file suffix -> loader(path, trusted type names)
MODEL_LOADERS: dict[str, Callable[[Path, Sequence[str]], Any]] = {
    ".joblib": _load_pickle,
    ".pkl": _load_pickle,
    ".pickle": _load_pickle,
    ".skops": _load_skops,
    ".sklir": _load_ir,
    ".keras": _load_keras,
    ".h5": _load_keras,
    ".json": _load_xgboost,
    ".ubj": _load_xgboost,
    ".txt": _load_lightgbm,
    ".cbm": _load_catboost,
}


def load_model(path: str | Path, trust: Sequence[str] = ()) -> Any:
    """The fitted estimator, or the IR :class:`Module` for ``.sklir`` files, stored at ``path``.

    ``trust`` names the skops types the user vouches for; any other untrusted type is refused.
    """
    path = Path(path)
    loader = MODEL_LOADERS.get(path.suffix.lower())
    if loader is None:
        raise InputFileError(f"{path}: cannot tell what this is from its suffix "
                             f"(expected one of {', '.join(MODEL_LOADERS)})")
    require_file(path)
    model = loader(path, trust)
    from sklir.frontend.chain import is_keras_model

    if not isinstance(model, Module) and not _is_estimator(model) and not is_keras_model(model):
        raise InputFileError(f"{path}: holds a {type(model).__module__}.{type(model).__name__}, "
                             "not a scikit-learn estimator")
    return model


def _is_estimator(obj: Any) -> bool:
    # the scikit-learn estimator protocol, or a gradient-boosting library's bare Booster; the
    # registry decides later whether it is supported
    from sklir.check import BOOSTERS, class_path

    if class_path(obj) in BOOSTERS:
        return True
    return not isinstance(obj, type) and hasattr(obj, "fit") and hasattr(obj, "get_params")


def n_features(model: Any) -> int:
    """The input width a loaded model (or the first model of a chain) expects."""
    if isinstance(model, Module):
        return model.inputs[0].type.static_dim(1)
    from sklir.frontend.chain import Chain, is_keras_model

    if isinstance(model, Chain):
        model = model.models[0]
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        return keras_frontend.input_width(model)
    from sklir.frontend.registry import check_fitted, input_width

    width = input_width(model)
    if width is None:
        check_fitted(model)  # names an unfitted estimator before anything else
        raise InputFileError(f"{type(model).__name__} does not record n_features_in_")
    return int(width)


def _read_csv(path: Path) -> np.ndarray:
    """Numbers from a CSV file; a first line that is not all numbers is a header. Errors name the
    line and column, counted from 1 like an editor."""
    rows: list[list[float]] = []
    for number, fields in _csv_data_lines(path):
        for column, field in enumerate(fields, start=1):
            if not _is_number(field):
                raise InputFileError(f"{path}: line {number}, column {column}: '{field}' is not a number")
        if rows and len(fields) != len(rows[0]):
            raise InputFileError(f"{path}: line {number} has {len(fields)} columns, earlier lines have {len(rows[0])}")
        rows.append([float(f) for f in fields])
    if not rows:
        empty = path.stat().st_size == 0
        raise InputFileError(f"{path}: has no rows of data" + (" (it is empty)" if empty else ""))
    return np.array(rows, dtype=np.float64)


def _csv_data_lines(path: Path) -> list[tuple[int, list[str]]]:
    """The lines of a CSV file that hold data, as (line number from 1, fields): blank and ``#``
    lines are skipped, and so is a first line that is not all numbers (the header)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a CSV text file (it is not UTF-8)") from None
    lines: list[tuple[int, list[str]]] = []
    seen_content = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        header = not seen_content and any(not _is_number(f) for f in fields)
        seen_content = True
        if not header:
            lines.append((number, fields))
    return lines


def position(data: str | Path | None, row: int, column: int) -> str:
    """Where element (``row``, ``column``) (from 0) of the data read from ``data`` stands, counted
    from 1 like an editor: ``line L, column C`` in a CSV file, ``row R, column C`` otherwise."""
    if data is not None and Path(data).suffix.lower() == ".csv":
        return f"line {_csv_data_lines(Path(data))[row][0]}, column {column + 1}"
    return f"row {row + 1}, column {column + 1}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputFileError(f"{path}: not a .npy array file ({_first_line(str(e))})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise InputFileError(f"{path}: holds {getattr(arr, 'dtype', type(arr))} data, expected numbers")
    return arr


# file suffix -> reader
DATA_READERS: dict[str, Callable[[Path], np.ndarray]] = {".npy": _read_npy, ".csv": _read_csv}


def load_data(path: str | Path, width: int) -> np.ndarray:
    """A 2-D float64 array of ``width`` columns from a ``.npy`` or ``.csv`` file."""
    path = Path(path)
    reader = DATA_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(f"{path}: data must be a .npy or .csv file")
    require_file(path)
    arr = np.asarray(reader(path), dtype=np.float64)
    if arr.ndim == 1 and width == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InputFileError(f"{path}: expected a 2-D array of shape (rows, {width}), got shape {arr.shape}")
    if arr.shape[1] != width:
        raise InputFileError(f"{path}: the model expects {width} features, got {arr.shape[1]}")
    if arr.shape[0] == 0:
        raise InputFileError(f"{path}: has no rows")
    with np.errstate(over="ignore"):
        beyond = np.isfinite(arr) & ~np.isfinite(arr.astype(np.float32))
    if beyond.any():
        row, column = np.argwhere(beyond)[0]
        raise InputFileError(f"{path}: {position(path, row, column)}: {arr[row, column]:g} is beyond float32's "
                             "range (±3.4e38), and every artefact takes float32 input")
    return arr


# what a CSV cell holding no number means in a numeric column (pandas' defaults, without "None")
NUMERIC_MISSING = ["", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "null", "NULL", "#N/A"]


def _read_csv_frame(path: Path, strings: Collection[str]) -> Any:
    """A CSV file with a header row: string columns exactly as written (an empty cell is missing;
    "NA", "None", "01" and "#" stay text), numeric columns parsed."""
    import pandas as pd

    header = pd.read_csv(path, nrows=0).columns
    missing = {str(c): ([""] if str(c) in strings else NUMERIC_MISSING) for c in header}
    return pd.read_csv(path, skipinitialspace=True, dtype={c: str for c in header if str(c) in strings},
                       keep_default_na=False, na_values=missing)


def _read_parquet(path: Path, strings: Collection[str]) -> Any:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputFileError(f"{path}: reading Parquet needs pyarrow: pip install 'sklir[parquet]'") from None
    return pd.read_parquet(path)


# file suffix -> reader of a table with named columns (and the names of its string columns)
FRAME_READERS: dict[str, Callable[[Path, Collection[str]], Any]] = {".csv": _read_csv_frame,
                                                                    ".parquet": _read_parquet}


def load_frame(path: str | Path, columns: Sequence[str], strings: Collection[str] = ()) -> Any:
    """A pandas DataFrame of ``columns`` (in that order) from a CSV file with a header row or a
    Parquet file: what a model fitted on a DataFrame with string columns is checked on; the
    columns named in ``strings`` are read as text."""
    path = Path(path)
    reader = FRAME_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(f"{path}: this model reads named columns: give a .csv file with a header row "
                             "or a .parquet file")
    require_file(path)
    try:
        frame = reader(path, strings)
    except InputFileError:
        raise
    except Exception as e:  # pandas and pyarrow raise assorted errors on a damaged file
        raise InputFileError(f"{path}: cannot read it as a {path.suffix[1:]} table ({_first_line(str(e))})") from None
    frame.columns = [str(c) for c in frame.columns]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise InputFileError(f"{path}: has no column '{absent[0]}' (the model reads {', '.join(columns)})")
    if len(frame) == 0:
        raise InputFileError(f"{path}: has no rows")
    return frame[list(columns)]


def first_non_finite(X: np.ndarray, data: str | Path | None = None) -> str | None:
    """Where the first NaN or infinity of ``X`` (read from ``data``) is: ``row R, column C: nan``."""
    bad = np.argwhere(~np.isfinite(X))
    if not len(bad):
        return None
    row, column = bad[0]
    return f"{position(data, row, column)}: {X[row, column]}"
