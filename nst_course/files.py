"""Writing files so that an interrupted write never leaves half a file behind.

Every file the package writes (result PNGs, exported weights, figures) goes
through :func:`atomic_write`: the bytes go to a new, uniquely named file in the
same folder, which is then renamed over the target. The new file is created
with mode 0o666, so the process umask applies exactly as it does to any other
file the user makes; nothing process-wide is changed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The folder is created if needed. If ``write`` raises (or the process is
    interrupted), the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda fh: fh.write(b"hello")).read_bytes()
    b'hello'
    >>> sorted(p.name for p in folder.iterdir())  # no temporary file left behind
    ['a.txt']
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
