"""Process I/O: writing artefacts so that a failure never leaves a half-written file or directory
behind, and keeping native libraries' own output off the terminal."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sklir.errors import SklirError

# is an existing file or directory at the output path an artefact sklir wrote (and may replace)?
Owned = Callable[[Path], bool]

# how many times a directory write retries when concurrent writers keep replacing the path
SWAP_ATTEMPTS = 64
# temporaries are named after the first characters of the output's name, so that a name near the
# file system's limit still leaves room for the prefix and the random part
TEMP_STEM = 24


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_writable(path: str | os.PathLike[str], owned: Owned | None = None, force: bool = False,
                   directory: bool = False) -> Path:
    """Raise a clear error now, before any work, when ``path`` cannot or must not be written.

    Something already at ``path`` is replaced only when ``owned(path)`` says sklir wrote it (an
    empty directory too: nothing is lost), or with ``force``; but never a directory by a file, a
    file by a ``directory``, or a symbolic link by a directory.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SklirError(f"cannot write {path}: directory {parent} does not exist")
    limit = _name_max(parent)
    length = len(os.fsencode(path.name))
    if length > limit:
        raise SklirError(f"cannot write {path}: its name is {length} bytes long, "
                         f"over the file system's limit of {limit}")
    if not os.access(parent, os.W_OK):
        raise SklirError(f"cannot write {path}: directory {parent} is not writable")
    _check_kind(path, directory)
    _check_replaceable(path, owned, force)
    return path


def _check_kind(path: Path, directory: bool) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # nothing there (or it vanished while we looked: another writer's swap)
    if directory and path.is_symlink():
        raise SklirError(f"cannot write {path}: it is a symbolic link (give the directory's real path)")
    if directory and not stat.S_ISDIR(st.st_mode):
        raise SklirError(f"cannot write {path}: a file is in the way (the artefact is a directory)")
    if not directory and stat.S_ISDIR(st.st_mode):
        raise SklirError(f"cannot write {path}: it is a directory")


def _check_replaceable(path: Path, owned: Owned | None, force: bool) -> None:
    if force:
        return
    # another writer may swap the path while it is examined: a verdict counts only when the same
    # file or directory stood there before and after
    for _ in range(SWAP_ATTEMPTS):
        before = _identity(path)
        if before is None:
            return
        try:
            replaceable = _is_empty_directory(path) or (owned is not None and owned(path))
        except FileNotFoundError:
            continue
        after = _identity(path)
        if after is None:
            return
        if after == before:
            if replaceable:
                return
            what = "directory" if path.is_dir() else "file"
            raise SklirError(f"refusing to replace {path}: the {what} there is not an artefact sklir wrote "
                             "(move it away, or force the write: --force, or force=True in Python)")
    raise SklirError(f"cannot write {path}: other writers kept replacing it")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _is_empty_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _umask() -> int:
    # os.umask can only be read by setting it; put it straight back
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_prefix(path: Path) -> str:
    return f".{path.name[:TEMP_STEM]}."


def write_atomic(path: str | os.PathLike[str], data: bytes | str, owned: Owned | None = None,
                 force: bool = False) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    An existing file is replaced only when ``owned`` recognises it (or with ``force``); a directory
    in the way never is.
    """
    path = check_writable(path, owned, force)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        # mkstemp creates 0600; an artefact gets the mode any new file would get
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)  # atomic: concurrent writers each leave a whole file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_directory_atomic(path: str | os.PathLike[str], fill: Callable[[Path], None], owned: Owned | None = None,
                           force: bool = False) -> Path:
    """Let ``fill`` populate a temporary directory beside ``path``, then move it into place.

    An existing directory is replaced only when ``owned`` recognises it (or with ``force``), and
    never while another writer's result is half moved: see :func:`_swap_in`.
    """
    path = check_writable(path, owned, force, directory=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        fill(tmp)
        # mkdtemp creates 0700; the directory gets the mode any new directory would get
        os.chmod(tmp, 0o777 & ~_umask())
        _swap_in(tmp, path, owned, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _swap_in(tmp: Path, path: Path, owned: Owned | None, force: bool) -> None:
    """Rename ``tmp`` to ``path``, moving an existing artefact aside first.

    A rename onto an absent path or an empty directory is atomic. A non-empty one is renamed away
    under a fresh name (so only one of several concurrent writers gets it) and deleted afterwards;
    when another writer puts its own result in between, the loop goes round again, and the last
    writer's whole directory stays.
    """
    for _ in range(SWAP_ATTEMPTS):
        try:
            os.rename(tmp, path)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise SklirError(f"cannot write {path}: {e.strerror}") from None
        _check_replaceable(path, owned, force)
        old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".old", dir=path.parent))
        try:
            os.rename(path, old)  # replaces the empty directory ``old``
        except FileNotFoundError:
            old.rmdir()
            continue  # another writer moved it first
        except OSError as e:
            old.rmdir()
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise SklirError(f"cannot write {path}: {e.strerror}") from None
            continue
        shutil.rmtree(old, ignore_errors=True)
    raise SklirError(f"cannot write {path}: other writers kept replacing it")


@contextlib.contextmanager
def captured_native_output() -> Iterator[Callable[[], str]]:
    """Send file descriptors 1 and 2 to a temporary file for the duration; yields a function that
    returns what was written there (native code's reports, such as TFLite Micro's arena use)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        text = ""
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield lambda: text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")


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
