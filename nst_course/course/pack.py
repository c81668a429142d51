"""The offline pack: one folder with everything a room without network needs.

:func:`pack` writes the course's wheel and its dependencies' wheels for the learners'
platforms (see :mod:`nst_course.course.wheels`), the trained weights, the paintings,
the lessons and a README with the one install command (:func:`install_command`).
The folder is built beside its place and renamed at the end, so a failed pack leaves nothing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import NSTError
from ..media.files import atomic_write, check_writable
from .classroom import copy_lessons
from .wheels import (
    build_wheel,
    check_torch_pair,
    download_sizes,
    linux_platforms,
    project_name,
    size_line,
    wheel_requirements,
)

__all__ = [
    "PACK_EXTRA",
    "PackOptions",
    "fetch_paintings",
    "install_command",
    "pack",
    "pip_download_command",
    "pip_resolve_command",
]

WEIGHTS_FILE = "vgg19-features.pth"
TORCH_PACKAGES = ("torch", "torchvision")


@dataclass
class PackOptions:
    """What :func:`pack` puts in the folder. ``platforms``/``python`` target the learners' machines."""

    platforms: Sequence[str] = ()  # e.g. manylinux2014_x86_64, macosx_11_0_arm64, win_amd64; () = this machine
    python: str | None = None  # e.g. 3.11
    dependencies: bool = True  # False: only the course wheel (learners have the rest already)
    torch: bool = True  # False: no torch/torchvision wheels (huge); learners need them already
    extra_wheels: Sequence[Path] = ()  # e.g. a CPU-only torch wheel downloaded beforehand
    course_wheel: Path | None = None  # default: built from this checkout
    weights: str | None = None  # default: $NST_COURSE_WEIGHTS or auto; "none" packs no weights
    paintings: str = "download"  # "download", "cached" (only what is already here) or "none"


#: the course's extra that a pack installs: JupyterLab, for `nst-course lab`
PACK_EXTRA = "lab"


def install_command(wheels: str = "$PACK/wheels") -> str:
    """The one command that installs the course (with JupyterLab) from a pack, with no network.

    >>> install_command("/media/pack/wheels")
    'python -m pip install --no-index --find-links "/media/pack/wheels" "nst-course[lab]"'
    """
    return f'python -m pip install --no-index --find-links "{wheels}" "nst-course[{PACK_EXTRA}]"'


def pip_download_command(wheels: Path, requirements: Iterable[str], options: PackOptions) -> list[str]:
    """``pip download`` of ``requirements`` as wheels for the target platforms and Python."""
    command = [sys.executable, "-m", "pip", "download", "--dest", str(wheels), "--only-binary=:all:"]
    return [*command, *_target_options(options), *requirements]


def pip_resolve_command(report: Path, requirements: Iterable[str], options: PackOptions) -> list[str]:
    """``pip install --dry-run`` that writes, as a JSON report, which files the download would fetch."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", "--only-binary=:all:"]
    command += ["--report", str(report), "--target", str(report.parent / "never-written")]  # pip wants a target
    return [*command, *_target_options(options), *requirements]


def _target_options(options: PackOptions) -> list[str]:
    command = []
    for platform in linux_platforms(options.platforms):
        command += ["--platform", platform]
    if options.python:
        command += ["--python-version", options.python, "--implementation", "cp"]
    return command


def _pack_wheels(wheels: Path, options: PackOptions, say: Callable[[str], None]) -> list[str]:
    notes = []
    if options.course_wheel is not None:
        given = Path(options.course_wheel).expanduser()
        if not given.is_file() or not given.name.startswith("nst_course-") or given.suffix != ".whl":
            raise NSTError(f"{given} is not a course wheel (nst_course-*.whl); build one with `python -m build`")
        course = wheels / given.name
        shutil.copy2(given, course)
    else:
        course = build_wheel(wheels)
    notes.append(f"course wheel: {course.name}")
    extra = []
    for path in options.extra_wheels:
        path = Path(path).expanduser()
        if not path.is_file() or path.suffix != ".whl":
            raise NSTError(f"--wheel {path}: not a wheel file (*.whl)")
        shutil.copy2(path, wheels / path.name)
        extra.append(wheels / path.name)
        notes.append(f"added wheel: {path.name}")
    if not options.dependencies:
        notes.append("no dependency wheels (--no-deps): learners must have them installed already")
        return notes
    requirements = wheel_requirements(course, extras=(PACK_EXTRA,))
    given_names = {path.name.split("-")[0].lower().replace("_", "-") for path in extra}
    requirements = [r for r in requirements if project_name(r) not in given_names]
    if not options.torch:
        requirements = [r for r in requirements if project_name(r) not in TORCH_PACKAGES]
        notes.append("no torch wheels (--no-torch): learners need torch and torchvision installed already")
    wanted = [*requirements, *map(str, extra)]
    with tempfile.TemporaryDirectory(prefix="nst-course-resolve-") as tmp:
        report = Path(tmp) / "report.json"
        _pip(pip_resolve_command(report, wanted, options), "pip could not resolve the wheels")
        files = download_sizes(json.loads(report.read_text(encoding="utf-8")))
    say(size_line(files))
    _pip(pip_download_command(wheels, wanted, options), "pip download failed")
    target = ", ".join(linux_platforms(options.platforms)) or "this platform"
    notes.append(f"dependency wheels for {target}, Python {options.python or 'this one'}")
    return notes


def _pip(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise NSTError(f"{what} ({last}); check the network, --platform and --python")


def _pack_weights(folder: Path, spec: str | None) -> tuple[str | None, str]:
    """Export trained weights into ``folder``; (file name or None, a line saying what happened)."""
    from ..engine.vgg import load_vgg19
    from ..engine.weights import export_weights

    if spec == "none":
        return None, "weights: none packed (--weights none)"
    net = load_vgg19(weights=spec, device="cpu")  # None: $NST_COURSE_WEIGHTS, else auto
    if not net.weights.pretrained:
        return None, (
            f"weights: NOT packed: the weights here are {net.weights}, not trained ones. Run "
            "`nst-course weights download` (548 MB) on this machine, or pass --weights PATH, then pack again"
        )
    # float32: every kernel that maps this file shares its pages (a float16 file is a copy per kernel)
    path = export_weights(net, folder / WEIGHTS_FILE, half=False)
    return path.name, f"weights: {path.name} ({path.stat().st_size / 1e6:.0f} MB) from {net.weights}"


def fetch_paintings(folder: str | os.PathLike | None = None, *, download: bool = True) -> tuple[list[str], list[str]]:
    """Make the paper's paintings available; the names found and the names missing.

    Each painting is taken from the download cache, or downloaded when ``download``
    is true. With ``folder``, the files are also copied to ``folder/images/`` (a
    cache folder to point ``$NST_COURSE_CACHE`` at).
    """
    from ..media.samples import PAINTINGS, cache_dir
    from ..media.samples import download as fetch

    found, missing = [], []
    for name, painting in PAINTINGS.items():
        filename = f"{name}.jpg"
        cached = cache_dir() / "images" / filename
        path = cached if cached.is_file() else None
        if path is None and download:
            try:
                path = fetch(painting.url, filename=filename, progress=False)
            except NSTError:
                path = None
        if path is None:
            missing.append(name)
            continue
        if folder is not None:
            target = Path(folder) / "images" / filename
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        found.append(name)
    return found, missing


def _readme(*, weights: str | None, notes: list[str], torch: bool, dependencies: bool) -> str:
    weights_line = (
        f'export NST_COURSE_WEIGHTS="$PACK/weights/{weights}"   # the trained VGG-19, read-only is fine'
        if weights
        else "# (no weights in this pack: the lessons use an UNTRAINED network and say so)"
    )
    needs = []
    if not dependencies:
        needs.append("Python with every dependency of nst-course already installed")
    elif not torch:
        needs.append("torch and torchvision already installed (this pack leaves them out: they are huge)")
    need_text = f"\nThe learners' Python must already have: {'; '.join(needs)}.\n" if needs else ""
    contents = "\n".join(f"- {note}" for note in notes)
    return f"""# nst-course for a room without network

This folder holds everything the course needs on a machine with no network.
{need_text}
## On each learner's machine

Copy this folder (read-only is fine), then in a terminal, in this folder:

```bash
PACK="$(pwd)"
python3 -m venv ~/nst-course-env && . ~/nst-course-env/bin/activate
{install_command()}
{weights_line}
export NST_COURSE_CACHE="$PACK/cache"   # the paintings
nst-course lab ~/nst-course-lessons     # copies the lessons there, then opens JupyterLab
```

Put the two `export` lines in `~/.bashrc` (or the hub's environment) to keep them.
`nst-course lessons DIR --solutions` copies the lessons with their solutions; it never
replaces a notebook the learner has changed. `lessons/` here holds the same notebooks
for a teacher to hand out.

## What is in this pack

{contents}
- `wheels/`: the course and its dependencies; `lessons/`: the notebooks and solutions;
  `cache/images/`: the paintings; `weights/`: the network's weights (if packed)
"""


def pack(
    folder: str | os.PathLike, options: PackOptions | None = None, *, say: Callable[[str], None] = print
) -> list[str]:
    """Write an offline pack into ``folder`` (created; must be empty or new); the lines to print.

    ``say`` gets the download's size before the download starts.
    """
    options = options or PackOptions()
    folder = Path(folder).expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise NSTError(f"{folder} exists and is not an empty folder; choose a new folder for the pack")
    if options.paintings not in ("download", "cached", "none"):
        raise NSTError(f"--paintings must be download, cached or none, not {options.paintings!r}")
    _check_pack_options(options)
    check_writable(folder / "README.md", overwrite=True)
    # built in a hidden folder beside the pack and renamed at the end: a failed pack leaves nothing
    building = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.building")
    try:
        notes = _fill_pack(building, options, say)
        building.rename(folder)  # replaces an empty folder; refused if one appeared meanwhile
    except OSError as exc:
        raise NSTError(f"cannot write the pack into {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return [*notes, f"wrote {folder}; on a learner's machine follow {folder / 'README.md'}"]


def _check_pack_options(options: PackOptions) -> None:
    """Refuse wheels, a platform or a Python version that cannot be right, before anything is written."""
    if options.course_wheel is not None:
        given = Path(options.course_wheel).expanduser()
        if not given.is_file() or not given.name.startswith("nst_course-") or given.suffix != ".whl":
            raise NSTError(f"{given} is not a course wheel (nst_course-*.whl); build one with `python -m build`")
    for path in map(Path, options.extra_wheels):
        if not path.expanduser().is_file() or path.suffix != ".whl":
            raise NSTError(f"--wheel {path}: not a wheel file (*.whl)")
    if options.python is not None and not re.fullmatch(r"3(\.\d{1,2})?", str(options.python)):
        raise NSTError(f"--python must be a Python 3 version such as 3.11, not {options.python!r}")
    for platform in options.platforms:
        if not re.fullmatch(r"[a-z0-9_.]+", str(platform)):
            raise NSTError(f"--platform must be a wheel platform tag such as manylinux2014_x86_64, not {platform!r}")
    check_torch_pair([Path(path).expanduser() for path in options.extra_wheels])


def _fill_pack(folder: Path, options: PackOptions, say: Callable[[str], None]) -> list[str]:
    """Everything of the pack, written into ``folder``; the lines to print."""
    wheels = folder / "wheels"
    wheels.mkdir(parents=True)
    notes = _pack_wheels(wheels, options, say)
    weights, line = _pack_weights(folder / "weights", options.weights)
    notes.append(line)
    if options.paintings == "none":
        notes.append("paintings: none packed (--paintings none): the lessons use built-in stand-ins")
    else:
        found, missing = fetch_paintings(folder / "cache", download=options.paintings == "download")
        notes.append(f"paintings: {', '.join(found) or 'none'}")
        if missing:
            notes.append(f"paintings missing (built-in stand-ins are used instead): {', '.join(missing)}")
    report = copy_lessons(folder / "lessons", solutions=True)
    notes.append(f"lessons: {len(report.copied)} notebooks, learner versions and solutions/")
    text = _readme(weights=weights, notes=notes, torch=options.torch, dependencies=options.dependencies)
    atomic_write(folder / "README.md", lambda fh: fh.write(text.encode("utf-8")))
    return notes
