"""The built-in paintings this package draws from noise, the same on every machine.

``swirls``, ``mosaic``, ``waves``, ``storm`` and ``shapes`` are brush strokes that
follow a swirling flow, stained-glass tiles, banded waves, one churning vortex in
browns, and discs and lines over a cream ground; ``town`` is a riverside town drawn
with shapes. Each is drawn by one function of a seeded random generator
(:data:`PROCEDURAL` names the function and its seed); part of this project and
under its licence. :func:`nst_course.media.samples.find_sample` hands them out.

>>> sorted(PROCEDURAL)
['mosaic', 'shapes', 'storm', 'swirls', 'town', 'waves']
>>> len({seed for _, seed in PROCEDURAL.values()})  # a seed of its own each
6
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["PROCEDURAL"]

_BASE_SIZE = 512  # procedural samples are painted at this longest side, then resized


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a coarse random grid upsampled bicubically."""
    grid = rng.random((cells, cells)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize(shape[::-1], Image.Resampling.BICUBIC)
    out = np.asarray(img)
    return (out - out.min()) / max(float(np.ptp(out)), 1e-6)


def _streaks(rng: np.random.Generator, vx: np.ndarray, vy: np.ndarray, *, length: int, grain: int = 3) -> np.ndarray:
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


#: Each drawn sample's name, the function that draws it and its seed.
PROCEDURAL: dict[str, tuple[Callable[[np.random.Generator], np.ndarray], int]] = {
    "swirls": (_paint_swirls, 1),
    "waves": (_paint_waves, 2),
    "mosaic": (_paint_mosaic, 3),
    "town": (_paint_town, 4),
    "storm": (_paint_storm, 5),
    "shapes": (_paint_shapes, 6),
}
