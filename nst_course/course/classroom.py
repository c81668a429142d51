"""The course outside its checkout: lessons copied to a learner's folder, and JupyterLab there.

* :func:`lesson_folder` finds the lesson notebooks: inside the installed wheel
  (``nst_course/notebooks``), or in the checkout's ``notebooks/``.
* :func:`copy_lessons` copies them into a learner's folder and never replaces a
  notebook the learner has changed (a small manifest remembers what was copied).
* :func:`lab_command` is the command that opens JupyterLab on that folder;
  :func:`start_lab` runs it.

The pack for a room without network is :mod:`nst_course.course.pack`. Only the
standard library is imported here: ``nst-course lessons`` runs in a hub's start hook.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NSTError
from ..media.files import atomic_write, atomic_write_bytes

__all__ = ["CopyReport", "copy_lessons", "lab_command", "lesson_files", "lesson_folder", "start_lab"]

MANIFEST = ".nst-course-lessons.json"
_PACKAGE = Path(__file__).resolve().parent.parent  # nst_course/
_CHECKOUT = _PACKAGE.parent


def lesson_folder() -> Path:
    """The folder of lesson notebooks: the installed copy first, else the checkout's ``notebooks/``."""
    for folder in (_PACKAGE / "notebooks", _CHECKOUT / "notebooks"):
        if any(folder.glob("[0-9][0-9]-*.ipynb")):
            return folder
    raise NSTError("the lesson notebooks are not installed with this copy of nst_course; reinstall it from its wheel")


def lesson_files(*, solutions: bool = False) -> list[Path]:
    """The learner notebooks, and with ``solutions`` also ``solutions/*.ipynb``, relative to :func:`lesson_folder`."""
    root = lesson_folder()
    files = sorted(root.glob("[0-9][0-9]-*.ipynb"))
    if solutions:
        files += sorted((root / "solutions").glob("[0-9][0-9]-*.ipynb"))
    return [f.relative_to(root) for f in files]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class CopyReport:
    """What :func:`copy_lessons` did, file by file (paths relative to the folder)."""

    folder: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed by the learner: left alone

    def lines(self) -> list[str]:
        out = []
        if self.copied:
            out.append(f"copied {len(self.copied)} notebook(s) to {self.folder}: {', '.join(self.copied)}")
        if self.updated:
            out.append(f"updated {len(self.updated)} notebook(s) you had not changed: {', '.join(self.updated)}")
        if self.unchanged:
            out.append(f"{len(self.unchanged)} notebook(s) already up to date")
        for name in self.kept:
            out.append(
                f"skipped {name}: you have changed it, so it was kept as it is "
                "(rename or delete your copy to get the course's version)"
            )
        return out


def copy_lessons(folder: str | os.PathLike, *, solutions: bool = False) -> CopyReport:
    """Copy the lesson notebooks into ``folder`` without replacing any notebook the learner changed.

    A notebook is (re)written only if it is missing, or if it is still exactly what
    an earlier copy wrote (then it gets the course's current version). The hashes of
    the copied files are kept in ``folder/.nst-course-lessons.json``.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NSTError(f"{folder} is a file; give a folder for the lessons")
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    except (OSError, ValueError):
        manifest = {}  # an unreadable manifest only means: treat every existing file as the learner's
    if not isinstance(manifest, dict):
        manifest = {}  # so does one that is not a mapping
    report = CopyReport(folder)
    source = lesson_folder()
    for rel in lesson_files(solutions=solutions):
        key = rel.as_posix()
        data = (source / rel).read_bytes()
        target = folder / rel
        if not target.exists():
            atomic_write_bytes(target, data)
            report.copied.append(key)
        else:
            try:
                current = _digest(target.read_bytes())
            except OSError:  # a folder or an unreadable file where the notebook goes: the learner's, kept
                report.kept.append(key)
                continue
            if current == _digest(data):
                report.unchanged.append(key)
            elif current == manifest.get(key):
                atomic_write_bytes(target, data)
                report.updated.append(key)
            else:
                report.kept.append(key)
                continue
        manifest[key] = _digest(data)
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write(manifest_path, lambda fh: fh.write(text.encode()))
    return report


def lab_command(folder: str | os.PathLike, *, allow_root: bool | None = None) -> list[str]:
    """The command that starts JupyterLab (of this Python) on ``folder``."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(folder).expanduser().resolve()}"]
    if allow_root is None:
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if allow_root:  # e.g. in a container; Jupyter refuses to run as root otherwise
        command.append("--allow-root")
    return command


def start_lab(command: list[str]) -> int:
    """Run :func:`lab_command`'s ``command`` until JupyterLab stops; its exit status.

    Refused in one line when JupyterLab is not installed in this Python.
    """
    if importlib.util.find_spec("jupyterlab") is None:
        raise NSTError(
            "JupyterLab is not installed in this Python: install it with "
            f"`{sys.executable} -m pip install 'nst-course[lab]'` (or open the lessons in your own Jupyter)"
        )
    return subprocess.call(command)
