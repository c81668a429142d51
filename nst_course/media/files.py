"""Publishing files: never half a file, never a file replaced that was not meant to be.

Every file the package writes (result PNGs, exported weights, figures) goes
through :func:`atomic_write`: the bytes go to a new, uniquely named file in the
same folder, which is then published under its name. With ``overwrite=True`` the
publication is a rename over the target; with ``overwrite=False`` it is a hard
link, which the operating system refuses when the name exists, so two runs that
race for one new name cannot both "succeed". The new file is created with mode
0o666, so the process umask applies exactly as it does to any other file the
user makes; nothing process-wide is changed.

:func:`check_writable` asks the same questions before any long work starts, so
a read-only folder or an existing name is found before the network is loaded.
Operating-system errors become one :class:`~nst_course.errors.NSTError` line.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import NSTError

__all__ = ["atomic_write", "atomic_write_bytes", "check_writable"]


def _exists_error(path: Path) -> NSTError:
    return NSTError(f"{path} exists; choose another name or add --overwrite")


def _os_error(path: Path, exc: OSError) -> NSTError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    return NSTError(f"cannot write {path}: {reason}; choose another place (-o/--out) or free some space")


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse, before any long work, an output that could not be published at ``path``.

    Refused: an existing name without ``overwrite``, a folder, and a place the user
    cannot write to (tried with a real temporary file in the nearest existing folder,
    which is removed again). Nothing is left behind.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise NSTError(f"{path} is a folder; give a file name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise _exists_error(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NSTError(f"cannot write {path}: {folder} is a file, not a folder")
    probe = folder / f".{path.name}.{secrets.token_hex(6)}.probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as exc:
        raise _os_error(path, exc) from None
    return path


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails with FileExistsError when the name exists, even if just made
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # a file system without hard links: claim the name exclusively, then fill it
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        os.replace(tmp, path)
        return
    tmp.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object], *, overwrite: bool = True) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then publish it as ``path``.

    The folder is created if needed. If ``write`` raises (or the process is
    interrupted), the temporary file is removed and ``path`` is left as it was.
    With ``overwrite=False`` an existing ``path`` is never replaced, even one
    created by another process while ``write`` ran.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda fh: fh.write(b"hello")).read_bytes()
    b'hello'
    >>> atomic_write(folder / "a.txt", lambda fh: fh.write(b"again"), overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nst_course.errors.NSTError: ... exists; choose another name or add --overwrite
    >>> sorted(p.name for p in folder.iterdir())  # no temporary file left behind
    ['a.txt']
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise NSTError(f"{path} is a folder; give a file name")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        _publish(tmp, path, overwrite)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _os_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Publish ``data`` as ``path`` with :func:`atomic_write`."""
    return atomic_write(path, lambda fh: fh.write(data), overwrite=overwrite)
