"""Built-in sample images that work offline, and the paper's paintings on demand.

Offline samples (always available):

* ``hopper``: the portrait of Grace Hopper that ships with matplotlib
  (a U.S. Navy photograph, public domain).
* ``town``: a riverside town painted by this module with shapes (a stand-in for
  the paper's Neckarfront photograph; free to use, part of this project).
* ``swirls``, ``mosaic``, ``waves``, ``storm``, ``shapes``: paintings made by this
  module from noise (brush strokes that follow a swirling flow, stained-glass tiles,
  banded waves, one churning vortex in browns, discs and lines over a cream ground);
  part of this project and under its licence. Offline, each of the five paintings of
  the paper's Fig. 3 has a stand-in of its own.

Downloaded on first use into a user cache (public domain, from Wikimedia Commons):
``starry_night`` (van Gogh), ``the_scream`` (Munch), ``shipwreck`` (Turner) and
``composition_vii`` (Kandinsky), the styles of Gatys et al. 2016, Fig. 3. Without
a network each falls back to the offline painting most like it.

This module only says where a sample's pixels come from (:func:`find_sample`);
turning them into a tensor is :func:`nst_course.media.images.load_image`'s job, so the
dependency runs one way: ``images`` asks ``samples``, never the reverse.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ..errors import NSTError

__all__ = [
    "PAINTINGS",
    "Painting",
    "Sample",
    "cache_dir",
    "download",
    "find_painting",
    "find_sample",
    "is_sample",
    "sample_names",
]

_USER_AGENT = "nst-course/0.1 (teaching package for neural style transfer)"
_BASE_SIZE = 512  # procedural samples are painted at this longest side, then resized


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
}


def cache_dir() -> Path:
    """Where downloads are kept: ``$NST_COURSE_CACHE``, else ``~/.cache/nst-course``."""
    if os.environ.get("NST_COURSE_CACHE"):
        return Path(os.environ["NST_COURSE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nst-course"


# --------------------------------------------------------------------------- offline
def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a coarse random grid upsampled bicubically."""
    grid = rng.random((cells, cells)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize(shape[::-1], Image.Resampling.BICUBIC)
    out = np.asarray(img)
    return (out - out.min()) / max(float(np.ptp(out)), 1e-6)


def _streaks(rng: np.random.Generator, vx: np.ndarray, vy: np.ndarray, length: int, grain: int = 3) -> np.ndarray:
    """Line-integral convolution: white noise smeared along the flow (vx, vy).

    This is what makes the procedural paintings look brushed: every pixel
    averages the noise met by a short walk along the flow, forwards and back.
    """
    h, w = vx.shape
    coarse = rng.random((h // grain + 1, w // grain + 1)).astype(np.float32)
    noise = np.repeat(np.repeat(coarse, grain, axis=0), grain, axis=1)[:h, :w]  # strokes `grain` px wide
    norm = np.hypot(vx, vy) + 1e-6
    ux, uy = vx / norm, vy / norm
    total = noise.copy()
    for direction in (1.0, -1.0):
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(length):
            iy = np.clip(y.round().astype(int), 0, h - 1)
            ix = np.clip(x.round().astype(int), 0, w - 1)
            x = x + direction * ux[iy, ix]
            y = y + direction * uy[iy, ix]
            total += noise[np.clip(y.round().astype(int), 0, h - 1), np.clip(x.round().astype(int), 0, w - 1)]
    total /= 2 * length + 1
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def _palette(values: np.ndarray, colours: list[tuple[int, int, int]]) -> np.ndarray:
    """Map values in [0, 1] through a piecewise-linear colour ramp to (H, W, 3) floats."""
    stops = np.linspace(0.0, 1.0, len(colours))
    table = np.asarray(colours, dtype=np.float32) / 255.0
    return np.stack([np.interp(values, stops, table[:, c]) for c in range(3)], axis=-1)


def _paint_swirls(rng: np.random.Generator) -> np.ndarray:
    h, w = 384, _BASE_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    vx = np.zeros((h, w), np.float32)
    vy = np.zeros((h, w), np.float32)
    for _ in range(7):  # a few vortices make the flow swirl
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        strength = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
        dx, dy = x - cx, y - cy
        falloff = np.exp(-(dx**2 + dy**2) / (2 * rng.uniform(40, 110) ** 2))
        vx += -dy * falloff * strength
        vy += dx * falloff * strength
    vx += 30.0 * (_smooth_noise(rng, (h, w), 4) - 0.3)  # a drift to the right, like wind
    strokes = _streaks(rng, vx, vy, length=20)
    tone = 0.65 * _smooth_noise(rng, (h, w), 5) + 0.35 * strokes
    colours = [(12, 24, 70), (30, 70, 150), (90, 140, 200), (200, 210, 160), (250, 215, 70)]
    return _palette(tone, colours) * (0.75 + 0.25 * strokes[..., None])


def _paint_waves(rng: np.random.Generator) -> np.ndarray:
    h, w = _BASE_SIZE, 400
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = 40.0 * _smooth_noise(rng, (h, w), 5)
    phase = (y + warp + 12.0 * np.sin(x / 45.0)) / 28.0
    bands = 0.5 + 0.5 * np.sin(phase)
    # the flow runs along the bands: perpendicular to the gradient of the phase
    gy, gx = np.gradient(phase)
    strokes = _streaks(rng, -gy, gx, length=16)
    tone = np.clip(0.8 * bands + 0.35 * (strokes - 0.5), 0, 1)
    colours = [(40, 30, 60), (60, 90, 140), (210, 120, 50), (240, 170, 60), (250, 220, 150)]
    sky = _palette(tone, colours)
    sea = _palette(tone, [(20, 30, 50), (50, 80, 110), (90, 120, 140), (160, 170, 150)])
    blend = np.clip((y - 0.55 * h) / 40.0, 0, 1)[..., None]  # warm sky above, cold sea below
    return sky * (1 - blend) + sea * blend


def _paint_mosaic(rng: np.random.Generator) -> np.ndarray:
    h, w = 400, _BASE_SIZE
    seeds = rng.uniform([0, 0], [h, w], size=(140, 2)).astype(np.float32)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    points = np.stack([y.ravel(), x.ravel()], axis=1)
    nearest = np.full(points.shape[0], np.inf, np.float32)
    second = np.full(points.shape[0], np.inf, np.float32)
    label = np.zeros(points.shape[0], np.int64)
    for i, seed in enumerate(seeds):  # one pass per tile keeps memory small
        d = np.hypot(points[:, 0] - seed[0], points[:, 1] - seed[1])
        closer = d < nearest
        second = np.where(closer, nearest, np.minimum(second, d))
        label = np.where(closer, i, label)
        nearest = np.where(closer, d, nearest)
    colours = (
        np.asarray(
            [(200, 40, 40), (240, 190, 40), (40, 90, 180), (30, 150, 110), (235, 235, 220), (120, 50, 140)],
            np.float32,
        )
        / 255.0
    )
    tile = colours[rng.integers(0, len(colours), len(seeds))][label]
    tile *= rng.uniform(0.75, 1.05, (len(seeds), 1)).astype(np.float32)[label]
    edge = ((second - nearest) < 2.5).astype(np.float32)[:, None]
    out = tile * (1 - edge) + 0.08 * edge
    return np.clip(out.reshape(h, w, 3), 0, 1)


def _paint_storm(rng: np.random.Generator) -> np.ndarray:
    """A sea storm: one great churning vortex of dark and foaming strokes in browns and greys."""
    h, w = 384, _BASE_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.45, 0.6) * w, rng.uniform(0.4, 0.55) * h
    dx, dy = x - cx, y - cy
    radius = np.hypot(dx, dy) + 1e-3
    # spiral flow: mostly around the centre, partly inwards, wider arcs far from it
    vx = -dy / radius + 0.35 * dx / radius + 0.6 * (_smooth_noise(rng, (h, w), 6) - 0.5)
    vy = dx / radius + 0.35 * dy / radius + 0.6 * (_smooth_noise(rng, (h, w), 6) - 0.5)
    strokes = _streaks(rng, vx, vy, length=26, grain=4)
    light = np.exp(-((radius / (0.35 * w)) ** 2))  # a pale eye of the storm
    tone = np.clip(0.45 * strokes + 0.55 * light + 0.25 * (_smooth_noise(rng, (h, w), 4) - 0.5), 0, 1)
    colours = [(25, 22, 20), (70, 55, 40), (130, 105, 75), (190, 175, 150), (245, 240, 225)]
    return _palette(tone, colours)


def _paint_shapes(rng: np.random.Generator) -> np.ndarray:
    """An abstract composition: bright discs, rings and bold lines over a cream ground."""
    w, h = _BASE_SIZE, 368
    ground = _palette(_smooth_noise(rng, (h, w), 3), [(235, 225, 200), (215, 200, 170)])
    img = Image.fromarray((ground * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    colours = [(215, 40, 40), (30, 60, 170), (245, 195, 30), (20, 20, 20), (40, 150, 90), (230, 110, 30)]
    for _ in range(16):  # discs and rings of many sizes
        r = int(rng.integers(10, 70))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = colours[int(rng.integers(len(colours)))]
        if rng.random() < 0.5:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=int(rng.integers(3, 9)))
    for _ in range(14):  # bold straight lines across
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, [w, h, w, h]))
        draw.line([(x0, y0), (x1, y1)], fill=colours[int(rng.integers(len(colours)))], width=int(rng.integers(2, 8)))
    return np.asarray(img, dtype=np.float32) / 255.0


def _paint_town(rng: np.random.Generator) -> np.ndarray:
    w, h = _BASE_SIZE, 352
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for row in range(h):  # sky: a vertical gradient
        t = row / h
        draw.line([(0, row), (w, row)], fill=(int(120 + 90 * t), int(170 + 60 * t), int(230 - 10 * t)))
    hill = [(0, 150)] + [(x, int(135 + 25 * np.sin(x / 70.0))) for x in range(0, w + 1, 16)] + [(w, 150)]
    draw.polygon([*hill, (w, 230), (0, 230)], fill=(70, 110, 60))
    x = 10
    while x < w - 20:  # a row of houses along the river
        width = int(rng.integers(34, 62))
        top = int(rng.integers(120, 165))
        wall = tuple(int(c) for c in rng.choice([(235, 220, 190), (220, 180, 150), (245, 240, 225), (200, 150, 120)]))
        draw.rectangle([x, top, x + width, 232], fill=wall, outline=(60, 50, 40))
        draw.polygon(
            [(x - 4, top), (x + width // 2, top - int(rng.integers(18, 36))), (x + width + 4, top)],
            fill=(150, 60, 40),
            outline=(60, 30, 20),
        )
        for wy in range(top + 10, 222, 22):
            for wx in range(x + 7, x + width - 8, 14):
                draw.rectangle([wx, wy, wx + 6, wy + 10], fill=(50, 60, 80))
        x += width + int(rng.integers(2, 8))
    river = np.asarray(img, dtype=np.float32)[232 - (h - 232) : 232][::-1] / 255.0
    out = np.asarray(img, dtype=np.float32) / 255.0
    ripple = 0.85 + 0.1 * _smooth_noise(rng, (h - 232, w), 24)[..., None]
    out[232:] = river * ripple * np.asarray([0.75, 0.85, 0.95], np.float32)
    blurred = Image.fromarray((out * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    return np.asarray(blurred, dtype=np.float32) / 255.0


_PROCEDURAL: dict[str, tuple[Callable[[np.random.Generator], np.ndarray], int]] = {
    "swirls": (_paint_swirls, 1),
    "waves": (_paint_waves, 2),
    "mosaic": (_paint_mosaic, 3),
    "town": (_paint_town, 4),
    "storm": (_paint_storm, 5),
    "shapes": (_paint_shapes, 6),
}


def sample_names() -> list[str]:
    """All names :func:`find_sample` (and :func:`nst_course.load_image`) accept.

    >>> sample_names()[:5]
    ['hopper', 'swirls', 'waves', 'mosaic', 'town']
    """
    return ["hopper", *_PROCEDURAL, *PAINTINGS]


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
        return self.missing is not None


def find_sample(name: str, *, progress: bool = True) -> Sample:
    """The pixels of a built-in sample: drawn here, shipped with matplotlib, or downloaded once.

    Procedural samples are the same on every machine (fixed seeds). A painting
    is downloaded once; offline, the result is its stand-in, marked as such.

    >>> found = find_sample("mosaic")
    >>> found.name, tuple(found.pixels.shape), found.is_stand_in
    ('mosaic', (1, 3, 400, 512), False)
    """
    if name == "hopper":
        import matplotlib.cbook

        return Sample(name, Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    if name in _PROCEDURAL:
        return Sample(name, _painted(name).clone())  # a copy: the caller may change its pixels
    if name in PAINTINGS:
        return find_painting(name, PAINTINGS[name], progress=progress)
    raise NSTError(f"no built-in sample {name!r}; choose one of: {', '.join(sample_names())}")


@functools.cache
def _painted(name: str) -> torch.Tensor:
    """A procedural sample's pixels, drawn once per process (drawing one takes most of a second)."""
    paint, seed = _PROCEDURAL[name]
    array = np.clip(paint(np.random.default_rng(seed)).astype(np.float32), 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).contiguous()


def find_painting(key: str, painting: Painting, *, progress: bool = True) -> Sample:
    """``painting``, downloaded once into the cache as ``{key}.jpg``; offline, its stand-in."""
    try:
        path = download(painting.url, filename=f"{key}.jpg", progress=progress)
    except NSTError as exc:
        stand_in = find_sample(painting.offline_stand_in)
        return Sample(stand_in.name, stand_in.pixels, painting=painting, missing=str(exc))
    return Sample(key, path, painting=painting)


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
