"""Built-in sample images that work offline, and the paper's paintings on demand.

Offline samples (always available):

* ``hopper``: the portrait of Grace Hopper that ships with matplotlib
  (a U.S. Navy photograph, public domain).
* ``town``, ``swirls``, ``mosaic``, ``waves``, ``storm``, ``shapes``: pictures this
  package draws from noise (``nst_course.media.procedural``), part of this project.

Downloaded on first use into a user cache (public domain, from Wikimedia Commons):
the paintings of :data:`PAINTINGS`, the one list of them: ``starry_night`` (van Gogh),
``the_scream`` (Munch), ``shipwreck`` (Turner), ``composition_vii`` (Kandinsky) and
``portrait_of_picasso`` (Juan Gris), the styles of Gatys et al. 2016, Fig. 3. Without
a network each falls back to its own offline stand-in, and says so.

This module only says where a sample's pixels come from (:func:`find_sample`, the one
getter); turning them into a tensor is :func:`nst_course.media.images.load_image`'s
job, so the dependency runs one way: ``images`` asks ``samples``, never the reverse.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import NSTError
from .procedural import PROCEDURAL

__all__ = [
    "PAINTINGS",
    "Painting",
    "Sample",
    "cache_dir",
    "download",
    "find_sample",
    "is_sample",
    "sample_names",
]

_USER_AGENT = "nst-course/0.1 (teaching package for neural style transfer)"


@dataclass(frozen=True)
class Painting:
    """A public-domain painting that can be downloaded on demand."""

    title: str
    artist: str
    year: str
    commons_file: str  # file name on Wikimedia Commons
    offline_stand_in: str  # built-in sample used when there is no network

    @property
    def url(self) -> str:
        name = urllib.parse.quote(self.commons_file)
        return f"https://commons.wikimedia.org/wiki/Special:FilePath/{name}?width=1024"

    @property
    def credit(self) -> str:
        return f"{self.title} ({self.year}), {self.artist}; public domain, via Wikimedia Commons"


#: The paintings, by name: every one the lessons and the paper's figures use.
PAINTINGS: dict[str, Painting] = {
    "starry_night": Painting(
        "The Starry Night",
        "Vincent van Gogh",
        "1889",
        "Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg",
        "swirls",
    ),
    "the_scream": Painting("The Scream", "Edvard Munch", "1893", "The_Scream.jpg", "waves"),
    "shipwreck": Painting(
        "The Shipwreck of the Minotaur", "J. M. W. Turner", "c. 1810", "Shipwreck_turner.jpg", "storm"
    ),
    "composition_vii": Painting(
        "Composition VII",
        "Wassily Kandinsky",
        "1913",
        "Vassily_Kandinsky,_1913_-_Composition_7.jpg",
        "shapes",
    ),
    # Picasso's "Femme nue assise" (Fig. 3 E) is not in the public domain; Juan Gris's portrait of him stands in
    "portrait_of_picasso": Painting(
        "Portrait of Pablo Picasso",
        "Juan Gris",
        "1912",
        "Juan_Gris_-_Portrait_of_Pablo_Picasso_-_Google_Art_Project.jpg",
        "mosaic",
    ),
}


def cache_dir() -> Path:
    """Where downloads are kept: ``$NST_COURSE_CACHE``, else ``~/.cache/nst-course``."""
    if os.environ.get("NST_COURSE_CACHE"):
        return Path(os.environ["NST_COURSE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nst-course"


def sample_names() -> list[str]:
    """All names :func:`find_sample` (and :func:`nst_course.load_image`) accept.

    >>> sample_names()[:5]
    ['hopper', 'swirls', 'waves', 'mosaic', 'town']
    """
    return ["hopper", *PROCEDURAL, *PAINTINGS]


def is_sample(name: str) -> bool:
    """Whether ``name`` is a built-in sample (``is_sample("town")`` is True)."""
    return name in sample_names()


@dataclass(frozen=True)
class Sample:
    """Where a built-in image's pixels come from, and whether it is the one asked for.

    ``pixels`` is an image file or a (1, 3, H, W) float tensor in [0, 1] at the
    sample's own size; :func:`nst_course.load_image` accepts either. When a
    painting cannot be downloaded, ``pixels`` are its built-in stand-in's,
    ``name`` is the stand-in's name and ``missing`` says why.
    """

    name: str
    """The built-in image these pixels are."""
    pixels: Path | torch.Tensor
    painting: Painting | None = None
    """The painting that was asked for, if one was."""
    missing: str | None = None
    """Why the painting could not be had (then these are its stand-in's pixels)."""

    @property
    def is_stand_in(self) -> bool:
        """Whether these are a stand-in's pixels (the painting asked for could not be had)."""
        return self.missing is not None

    @property
    def caption(self) -> str:
        """What to write under the picture: the painting's title, or the stand-in's name and why.

        >>> Sample("swirls", torch.zeros(1), painting=PAINTINGS["starry_night"], missing="offline").caption
        "'swirls' (built-in stand-in: The Starry Night is not downloaded)"
        """
        if self.painting is None:
            return f"'{self.name}' (built-in)"
        if self.is_stand_in:
            return f"'{self.name}' (built-in stand-in: {self.painting.title} is not downloaded)"
        return f"{self.painting.title}, {self.painting.artist} ({self.painting.year})"


def find_sample(name: str, *, progress: bool = True) -> Sample:
    """Where the pixels of the built-in image ``name`` come from: drawn, shipped with matplotlib, or downloaded.

    Drawn samples are the same on every machine (fixed seeds). A painting of
    :data:`PAINTINGS` is downloaded once into the cache as ``{name}.jpg``; offline,
    the result is its stand-in's pixels, marked as such (``is_stand_in``, ``caption``).

    >>> found = find_sample("mosaic")
    >>> found.name, tuple(found.pixels.shape), found.is_stand_in
    ('mosaic', (1, 3, 400, 512), False)
    """
    if name == "hopper":
        import matplotlib.cbook

        return Sample(name, Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    if name in PROCEDURAL:
        return Sample(name, _painted(name).clone())  # a copy: the caller may change its pixels
    if name in PAINTINGS:
        painting = PAINTINGS[name]
        try:
            path = download(painting.url, filename=f"{name}.jpg", progress=progress)
        except NSTError as exc:
            stand_in = find_sample(painting.offline_stand_in)
            return Sample(stand_in.name, stand_in.pixels, painting=painting, missing=str(exc))
        return Sample(name, path, painting=painting)
    raise NSTError(f"no built-in sample {name!r}; choose one of: {', '.join(sample_names())}")


@functools.cache
def _painted(name: str) -> torch.Tensor:
    """A procedural sample's pixels, drawn once per process (drawing one takes most of a second)."""
    paint, seed = PROCEDURAL[name]
    array = np.clip(paint(np.random.default_rng(seed)).astype(np.float32), 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).contiguous()


def download(
    url: str,
    *,
    filename: str | None = None,
    timeout: float = 20.0,
    deadline: float = 300.0,
    max_bytes: int = 30_000_000,
    progress: bool = True,
) -> Path:
    """Download ``url`` into :func:`cache_dir` once and return the local path.

    The cached name comes from the whole URL (its file name plus a hash of the
    URL), unless the caller names the file. Shows a progress bar, gives up after
    ``timeout`` seconds without data or ``deadline`` seconds in all, refuses files
    larger than ``max_bytes`` or shorter than the server announced, and keeps
    only files that decode completely as images; a cached file that does not is
    fetched again. Raises :class:`NSTError` with a one-line reason when offline
    or when the server fails.
    """
    name = filename or _cache_name(url)
    target = cache_dir() / "images" / name
    if target.is_file():
        try:
            _check_image_file(target, url)
            return target
        except NSTError:
            target.unlink(missing_ok=True)  # damaged (an old, cut-off download): fetch it again
    partial = target.with_name(f".{name}.{secrets.token_hex(6)}.part")  # unique: two processes may fetch at once
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _fetch(url, partial, name, timeout=timeout, deadline=deadline, max_bytes=max_bytes, progress=progress)
        _check_image_file(partial, url)  # refuse to cache something that is not a whole image
        os.replace(partial, target)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NSTError(f"could not download {url} (no network? {reason})") from None
    except (http.client.HTTPException, ValueError) as exc:  # a reply that is not HTTP, a bad header
        raise NSTError(f"could not download {url}: the server's reply is malformed ({type(exc).__name__})") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def _cache_name(url: str) -> str:
    """A cache file name that differs for every URL, readable by its ending: ``photo-1a2b3c4d5e.png``."""
    path = Path(urllib.parse.urlparse(url).path)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:60] or "download"
    suffix = path.suffix if path.suffix[1:].isalnum() else ""
    return f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:10]}{suffix}"


def _fetch(
    url: str, partial: Path, name: str, *, timeout: float, deadline: float, max_bytes: int, progress: bool
) -> None:
    """Write ``url``'s body to ``partial``; the whole of it, within ``deadline`` seconds, or an error."""
    from tqdm.auto import tqdm

    stop_at = time.monotonic() + deadline
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None else None  # ValueError for a malformed header
        if total is not None and total < 0:
            raise ValueError(length)
        if total and total > max_bytes:
            raise NSTError(f"{url} is {total:,} bytes, more than the limit of {max_bytes:,}")
        done = 0
        with (
            open(partial, "xb") as fh,
            tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress, leave=False) as bar,
        ):
            while chunk := response.read1(1 << 16):  # returns what has arrived: the deadline is checked often
                done += len(chunk)
                if done > max_bytes:
                    raise NSTError(f"{url} is larger than the limit of {max_bytes:,} bytes")
                if time.monotonic() > stop_at:
                    raise NSTError(f"could not download {url}: not finished after {deadline:g} s (a slow server?)")
                fh.write(chunk)
                bar.update(len(chunk))
    if total is not None and done != total:
        raise NSTError(f"could not download {url}: got {done:,} of {total:,} bytes (cut off); try again")


def _check_image_file(path: Path, url: str) -> None:
    """Raise :class:`NSTError` unless ``path`` holds an image Pillow can decode completely."""
    try:
        with Image.open(path) as img:
            img.load()  # every pixel: a cut-off JPEG fails here, not later in a lesson
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise NSTError(f"{url} did not give an image Pillow can read ({exc})") from None
