"""Process I/O: writing artefacts so that a failure never leaves a half-written file or directory
behind, and keeping native libraries' own output off the terminal."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sklir.errors import SklirError


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise a clear error now, before any work, when ``path`` cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SklirError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise SklirError(f"cannot write {path}: directory {parent} is not writable")
    return path


def _umask() -> int:
    # os.umask can only be read by setting it; put it straight back
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = check_writable(path)
    if path.is_dir():
        raise SklirError(f"cannot write {path}: it is a directory")
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        # mkstemp creates 0600; an artefact gets the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_directory_atomic(path: str | os.PathLike[str], fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` populate a temporary directory beside ``path``, then move it into place."""
    path = check_writable(path)
    if path.exists() and not path.is_dir():
        raise SklirError(f"cannot write {path}: a file is in the way")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        fill(tmp)
        # mkdtemp creates 0700; the directory gets the mode any new directory would get
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


@contextlib.contextmanager
def silenced_native_output() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the duration.

    TensorFlow's converter and LiteRT write from C++ straight to the descriptors (MLIR error dumps,
    "Created TensorFlow Lite XNNPACK delegate"), which Python-level redirection cannot catch.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
