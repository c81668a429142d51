"""The course outside its checkout: lessons copied to a folder, JupyterLab there, a pack for an offline room.

* :func:`lesson_folder` finds the lesson notebooks: inside the installed wheel
  (``nst_course/notebooks``), or in the checkout's ``notebooks/``.
* :func:`copy_lessons` copies them into a learner's folder and never replaces a
  notebook the learner has changed (a small manifest remembers what was copied).
* :func:`lab_command` is the command that opens JupyterLab on that folder.
* :func:`pack` writes a folder for a room without network: wheels, weights,
  paintings, lessons and a README with the one install command.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NSTError
from ..media.files import atomic_write, check_writable

__all__ = [
    "CopyReport",
    "PackOptions",
    "build_wheel",
    "copy_lessons",
    "fetch_paintings",
    "install_command",
    "lab_command",
    "lesson_folder",
    "pack",
    "wheel_requirements",
]

MANIFEST = ".nst-course-lessons.json"
WEIGHTS_FILE = "vgg19-features.pth"
TORCH_PACKAGES = ("torch", "torchvision")
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
            atomic_write(target, lambda fh, data=data: fh.write(data))
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
                atomic_write(target, lambda fh, data=data: fh.write(data))
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


# --------------------------------------------------------------------------- wheels


def build_wheel(out_dir: str | os.PathLike, *, source: str | os.PathLike | None = None) -> Path:
    """Build the course's wheel from a checkout into ``out_dir``; the path of the wheel.

    The checkout is copied to a temporary folder first, so the build neither
    writes into it nor picks up stale files from an earlier build.
    """
    source = Path(source) if source is not None else _CHECKOUT
    if not (source / "pyproject.toml").is_file() or not (source / "nst_course").is_dir():
        raise NSTError(
            f"{source} is not a checkout of the course, so its wheel cannot be built here; "
            "give the course wheel with --course-wheel PATH"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    with tempfile.TemporaryDirectory(prefix="nst-course-build-") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy2(source / name, tree / name)
        for name in ("nst_course", "notebooks"):
            shutil.copytree(source / name, tree / name, ignore=ignore)
        wheels = Path(tmp) / "wheels"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(tree)]
        if _has_modern_setuptools():
            command.insert(4, "--no-build-isolation")  # no download of setuptools when it is already here
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        built = sorted(wheels.glob("nst_course-*.whl"))
        if done.returncode != 0 or not built:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise NSTError(f"building the course wheel failed: {last}")
        target = out_dir / built[0].name
        shutil.copy2(built[0], target)
    return target


def _has_modern_setuptools() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return major >= 77  # the first to read pyproject's licence expression


def wheel_requirements(wheel: str | os.PathLike, *, extras: Sequence[str] = ()) -> list[str]:
    """The run-time requirements written in a wheel's metadata, plus those of the named ``extras``.

    Other extras (such as ``test``) are left out; an extra's requirement is returned
    without its ``extra == "..."`` marker.
    """
    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None)
        if name is None:
            raise NSTError(f"{wheel} is not a wheel (no .dist-info/METADATA); rebuild it")
        text = archive.read(name).decode("utf-8")
    requirements = []
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first empty line
        if line.startswith("Requires-Dist:"):
            requirement, _, marker = line.removeprefix("Requires-Dist:").partition(";")
            marker = marker.replace('"', "").replace("'", "").strip()
            if not marker:
                requirements.append(requirement.strip())
            elif marker.startswith("extra =="):
                if marker.removeprefix("extra ==").strip() in extras:
                    requirements.append(requirement.strip())
            else:
                requirements.append(line.removeprefix("Requires-Dist:").strip())
    return requirements


def _project_name(requirement: str) -> str:
    name = requirement.strip()
    for stop in "<>=!~;[ (@":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


# --------------------------------------------------------------------------- the offline pack


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
    """The one command that installs the course (with JupyterLab) from a pack, with no network."""
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


#: the manylinux tags a Linux pack asks for: recent wheels (torch) carry the first, older ones the second
LINUX_TAGS = ("manylinux_2_28", "manylinux2014")
_LINUX = re.compile(r"(?:manylinux(?:1|2010|2014|_\d+_\d+)|linux)_(?P<arch>.+)")


def linux_platforms(platforms: Iterable[str]) -> list[str]:
    """The platform tags to ask pip for: each Linux tag brings both :data:`LINUX_TAGS` for its machine.

    >>> linux_platforms(["manylinux2014_x86_64"])
    ['manylinux2014_x86_64', 'manylinux_2_28_x86_64']
    >>> linux_platforms(["win_amd64"])
    ['win_amd64']
    """
    out: list[str] = []
    for platform in platforms:
        match = _LINUX.fullmatch(platform)
        tags = [platform, *(f"{tag}_{match['arch']}" for tag in LINUX_TAGS)] if match else [platform]
        out += [tag for tag in dict.fromkeys(tags) if tag not in out]
    return out


def _wheel_fields(path: Path) -> tuple[str, str, str]:
    """(project, version, tags) from a wheel's file name, e.g. ('torch', '2.5.1+cpu', 'cp311-cp311-linux_x86_64')."""
    parts = path.name.removesuffix(".whl").split("-")
    if len(parts) < 5:
        raise NSTError(f"--wheel {path.name}: not a wheel's file name (name-version-python-abi-platform.whl)")
    return parts[0].lower().replace("_", "-"), parts[1], "-".join(parts[-3:])


def check_torch_pair(wheels: Sequence[Path]) -> None:
    """Refuse a torch wheel without its torchvision (or the reverse), or two that are not one release's pair.

    torchvision is built against one torch release: 0.(N+15) goes with torch 2.N, and a
    CPU-only torch needs a CPU-only torchvision (the same ``+cpu`` label), or
    torchvision's operators fail to load at the first transfer.
    """
    given = {name: (version, tags, path) for path in wheels for name, version, tags in [_wheel_fields(path)]}
    torch, vision = given.get("torch"), given.get("torchvision")
    if torch is None and vision is None:
        return
    if torch is None or vision is None:
        have, missing = ("torch", "torchvision") if vision is None else ("torchvision", "torch")
        name = (torch or vision)[2].name
        raise NSTError(
            f"--wheel {name}: add the {missing} wheel of the same release and build with another --wheel "
            f"(the index's {missing} would not match this {have}), or leave out both"
        )
    (t_version, t_tags, t_path), (v_version, v_tags, v_path) = torch, vision
    t_release, _, t_label = t_version.partition("+")
    v_release, _, v_label = v_version.partition("+")
    try:
        t_major, t_minor = (int(x) for x in t_release.split(".")[:2])
        v_minor = int(v_release.split(".")[1])
    except ValueError:
        names = f"{t_path.name}, {v_path.name}"
        raise NSTError(
            f"--wheel {names}: cannot read their versions; give the wheels as the index named them"
        ) from None
    expected = f"0.{t_minor + 15}" if t_major == 2 else None
    if expected != f"0.{v_minor}" or t_label != v_label or t_tags != v_tags:
        label = f"+{t_label}" if t_label else ""
        raise NSTError(
            f"--wheel {t_path.name} and --wheel {v_path.name} are not a pair: torch {t_major}.{t_minor}{label} "
            f"goes with torchvision {expected or '(see pytorch.org)'}{label}, built for the same Python and platform"
        )


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
    requirements = [r for r in requirements if _project_name(r) not in given_names]
    if not options.torch:
        requirements = [r for r in requirements if _project_name(r) not in TORCH_PACKAGES]
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


def download_sizes(report: dict) -> dict[str, int | None]:
    """The size in bytes of each file in a ``pip install --report``; None where the server does not say."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import unquote, urlparse
    from urllib.request import Request, urlopen

    def size(url: str) -> int | None:
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path))
            return path.stat().st_size if path.is_file() else None
        try:
            with urlopen(Request(url, method="HEAD"), timeout=30) as answer:
                length = answer.headers.get("Content-Length")
        except OSError:
            return None
        return int(length) if length and length.isdigit() else None

    urls = [item["download_info"]["url"] for item in report.get("install", [])]
    with ThreadPoolExecutor(max_workers=8) as pool:
        sizes = list(pool.map(size, urls))
    return {url.rsplit("/", 1)[-1]: found for url, found in zip(urls, sizes, strict=True)}


def size_line(files: dict[str, int | None]) -> str:
    """One line on what the download will take, said before it starts.

    >>> size_line({"torch-2.5.1-cp311-none-linux_x86_64.whl": 800_000_000, "six-1.17.0-py3-none-any.whl": 11_050})
    'the pack will download 2 wheels, 800 MB (largest: torch-2.5.1-cp311-none-linux_x86_64.whl 800 MB)'
    """
    known = {name: size for name, size in files.items() if size is not None}
    total = sum(known.values())
    largest = max(known, key=known.get, default=None)
    parts = f"{largest} {known[largest] / 1e6:.0f} MB" if largest else "none known"
    unknown = len(files) - len(known)
    tail = f"; {unknown} of unknown size" if unknown else ""
    return f"the pack will download {len(files)} wheels, {total / 1e6:.0f} MB (largest: {parts}){tail}"


def _pack_weights(folder: Path, spec: str | None) -> tuple[str | None, str]:
    """Export trained weights into ``folder``; (file name or None, a line saying what happened)."""
    from ..engine.vgg import WEIGHTS_ENV, export_weights, load_vgg19

    spec = spec or os.environ.get(WEIGHTS_ENV) or "auto"
    if spec == "none":
        return None, "weights: none packed (--weights none)"
    net = load_vgg19(weights=spec, device="cpu")
    if not net.weights.pretrained:
        return None, (
            f"weights: NOT packed: the weights here are {net.weights}, not trained ones. Run "
            "`nst-course weights download` (548 MB) on this machine, or pass --weights PATH, then pack again"
        )
    path = export_weights(net, folder / WEIGHTS_FILE)
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


# --------------------------------------------------------------------------- command line


def add_commands(sub) -> None:
    """Register ``lessons``, ``lab`` and ``pack`` on the command line's subparsers."""
    p = sub.add_parser("lessons", help="copy the lesson notebooks into a folder (never over your changes)")
    p.add_argument("folder", help="where to put the notebooks (created if needed)")
    p.add_argument("--solutions", action="store_true", help="also copy the solutions (into FOLDER/solutions)")

    p = sub.add_parser("lab", help="copy the lessons into a folder (if needed) and open JupyterLab there")
    p.add_argument("folder", nargs="?", default="nst-course-lessons", help="default ./nst-course-lessons")
    p.add_argument("--solutions", action="store_true", help="also copy the solutions")
    p.add_argument("--dry-run", action="store_true", help="copy, then print the JupyterLab command instead")

    p = sub.add_parser("pack", help="write a folder with everything an offline classroom needs")
    p.add_argument("folder", help="a new folder for the pack")
    p.add_argument(
        "--platform",
        action="append",
        default=[],
        help="learners' platform tag, e.g. manylinux2014_x86_64 (brings manylinux_2_28 too), win_amd64; repeatable",
    )
    p.add_argument("--python", help="learners' Python version, e.g. 3.11")
    p.add_argument("--no-deps", action="store_true", help="only the course wheel, no dependencies")
    p.add_argument("--no-torch", action="store_true", help="leave out torch and torchvision (about 1 GB or more)")
    p.add_argument(
        "--wheel",
        action="append",
        default=[],
        help="add this wheel, e.g. a CPU-only torch with its torchvision (both, or neither); repeatable",
    )
    p.add_argument("--course-wheel", help="the course wheel to pack (default: build it from this checkout)")
    p.add_argument("--weights", help="weights to export: auto, imagenet, a file, or none (default as for runs)")
    p.add_argument("--paintings", default="download", help="download (default), cached or none")


def run_command(args) -> int:
    """Carry out ``lessons``, ``lab`` or ``pack``; the exit status."""
    if args.command == "pack":
        options = PackOptions(
            platforms=args.platform,
            python=args.python,
            dependencies=not args.no_deps,
            torch=not args.no_torch,
            extra_wheels=[Path(w) for w in args.wheel],
            course_wheel=Path(args.course_wheel) if args.course_wheel else None,
            weights=args.weights,
            paintings=args.paintings,
        )
        for line in pack(args.folder, options):
            print(line)
        return 0
    report = copy_lessons(args.folder, solutions=args.solutions)
    for line in report.lines():
        print(line)
    if args.command == "lessons":
        return 0
    command = lab_command(args.folder)
    if not args.dry_run and importlib.util.find_spec("jupyterlab") is None:
        raise NSTError(
            "JupyterLab is not installed in this Python: install it with "
            f"`{sys.executable} -m pip install 'nst-course[lab]'` (or open the lessons in your own Jupyter)"
        )
    if args.dry_run:
        print(" ".join(command))
        return 0
    return subprocess.call(command)
