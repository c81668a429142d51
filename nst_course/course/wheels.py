"""Wheels for a room without network: the course's own, what it requires, which platforms, how big.

* :func:`build_wheel` builds the course's wheel from a checkout;
  :func:`wheel_requirements` reads a wheel's requirements back.
* :func:`linux_platforms` widens a Linux platform tag to the tags pip needs;
  :func:`check_torch_pair` refuses a torch wheel without its own torchvision.
* :func:`download_sizes` and :func:`size_line` say what a download will cost before it starts.

:mod:`nst_course.course.pack` puts them together into the offline pack.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import NSTError

__all__ = [
    "LINUX_TAGS",
    "build_wheel",
    "check_torch_pair",
    "download_sizes",
    "linux_platforms",
    "project_name",
    "size_line",
    "wheel_requirements",
]

#: the checkout this package sits in, when it is not installed: the folder above nst_course/
CHECKOUT = Path(__file__).resolve().parents[2]


def build_wheel(out_dir: str | os.PathLike, *, source: str | os.PathLike | None = None) -> Path:
    """Build the course's wheel from a checkout into ``out_dir``; the path of the wheel.

    The checkout is copied to a temporary folder first, so the build neither
    writes into it nor picks up stale files from an earlier build.
    """
    source = Path(source) if source is not None else CHECKOUT
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


def project_name(requirement: str) -> str:
    """The project a requirement names, as pip compares names.

    >>> project_name("Torch_Vision>=0.20; python_version >= '3.11'")
    'torch-vision'
    """
    name = requirement.strip()
    for stop in "<>=!~;[ (@":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


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
        name = given[have][2].name
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
    largest = max(known, key=known.__getitem__, default=None)
    parts = f"{largest} {known[largest] / 1e6:.0f} MB" if largest else "none known"
    unknown = len(files) - len(known)
    tail = f"; {unknown} of unknown size" if unknown else ""
    return f"the pack will download {len(files)} wheels, {total / 1e6:.0f} MB (largest: {parts}){tail}"
