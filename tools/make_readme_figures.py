"""Render each lesson's main figure into docs/images/lesson-NN.png for the README.

Built-in samples only, each lesson's settings (the paper's losses; quick mode is
switched off), untrained weights unless ``--weights`` says otherwise; every figure names
the weights it came from. Takes several minutes on a laptop CPU.

    python tools/make_readme_figures.py                    # all six, random weights
    python tools/make_readme_figures.py 01 --weights imagenet
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
DPI = 72


def _grey(features):
    """One channel as a grey (1, 3, H, W) image scaled to [0, 1]."""
    low, high = features.min(), features.max()
    return ((features - low) / (high - low + 1e-8)).expand(-1, 3, -1, -1)


def lesson_00(nst, plotting, net):
    settings = nst.lesson_settings(0)
    photo = nst.load_image("town", size=settings.size)
    layers = list(nst.STYLE_LAYERS)
    features = net(photo, layers)
    maps, titles = [photo], ["photo"]
    for name in layers:
        value = features[name]
        channel = int(value.pow(2).flatten(2).sum(-1).argmax())  # the most active map (highest energy)
        maps.append(_grey(value[:, channel : channel + 1]))
        grid = f"{value.shape[-2]}x{value.shape[-1]}"
        titles.append(f"{name}, channel {channel} ({grid})")
    return plotting.show_images(
        maps, titles, suptitle=f"Lesson 00: one feature map per block · weights: {net.weights}", size=2.6
    )


def lesson_01(nst, plotting, net):
    settings = nst.lesson_settings(1, normalization="paper")
    photo = nst.load_image("town", size=settings.size)
    layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"]
    results = [nst.reconstruct(photo, layer=layer, settings=settings, net=net, progress=False) for layer in layers]
    return plotting.show_images(
        [photo, *(r.image for r in results)],
        ["photo", *(f"from {layer}" for layer in layers)],
        suptitle=f"Lesson 01: content reconstructions (Fig. 1), {settings.steps} steps · weights: {net.weights}",
        size=2.6,
    )


def lesson_02(nst, plotting, net):
    settings = nst.lesson_settings(2, normalization="paper")
    style = nst.load_image("swirls", size=settings.size)  # built-in, so the figure is the same everywhere
    sets = [nst.STYLE_LAYERS[: i + 1] for i in range(len(nst.STYLE_LAYERS))]
    results = [nst.synthesize_texture(style, layers=s, settings=settings, net=net, progress=False) for s in sets]
    return plotting.show_images(
        [style, *(r.image for r in results)],
        ["'swirls'", *(" + ".join(s) if len(s) < 3 else f"relu1_1 ... {s[-1]}" for s in sets)],
        suptitle=f"Lesson 02: style reconstructions (Fig. 1), {settings.steps} steps · weights: {net.weights}",
        size=2.6,
    )


def lesson_03(nst, plotting, net):
    settings = nst.lesson_settings(3, normalization="paper")
    photo = nst.load_image("town", size=settings.size)
    names = ["swirls", "waves", "storm", "mosaic", "shapes"]  # built-in: the same picture on every machine
    styles = [nst.load_image(name, size=settings.size) for name in names]
    settings = nst.lesson_settings(3, normalization="paper", style_weight=10 * settings.beta)  # the lesson's gallery
    results = [nst.transfer(photo, style, settings=settings, net=net, progress=False) for style in styles]
    return plotting.show_images(
        [photo, *styles, photo, *(r.image for r in results)],
        ["town (content)", *(f"'{n}' (style)" for n in names), "", *(f"town in the style of '{n}'" for n in names)],
        columns=len(names) + 1,
        suptitle=f"Lesson 03: style transfer, α/β = {settings.content_weight / settings.beta:g}, "
        f"{settings.steps} steps · weights: {net.weights}",
        size=2.6,
    )


def lesson_04(nst, plotting, net):
    from nst_course.paper import figures

    settings = nst.lesson_settings(4)  # as the lesson draws it: from the photo, so that 40 steps show the trade-off
    return figures.figure4(net=net, settings=settings, init="content", progress=False).show()


def lesson_05(nst, plotting, net):
    from nst_course.engine.colour import chroma_difference

    settings = nst.lesson_settings(5)
    photo = nst.load_image("town", size=settings.size)
    style = nst.load_image("swirls", size=settings.size)  # built-in: the stand-in the lesson shows offline
    modes = (None, "luminance", "histogram")
    results = [nst.transfer(photo, style, settings=settings, net=net, preserve_colour=m, progress=False) for m in modes]
    names = ["plain transfer", 'preserve_colour="luminance"', 'preserve_colour="histogram"']
    distances = [chroma_difference(result.image, photo) for result in results]
    titles = [f"{name}\nchroma difference {d:.3f}" for name, d in zip(names, distances, strict=True)]
    return plotting.show_images(
        [photo, style, *(r.image for r in results)],
        ["town (content)", "'swirls' (style)", *titles],
        suptitle=f"Lesson 05: keeping the photo's colours (Gatys et al. 2017), {settings.steps} steps · "
        f"weights: {net.weights}",
        size=2.6,
    )


def save_small(figure, path: Path) -> None:
    """A PNG with a 256-colour palette: a fraction of the size, no visible change at this scale."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    Image.open(buffer).convert("RGB").quantize(256).save(path, optimize=True)


FIGURES = {"00": lesson_00, "01": lesson_01, "02": lesson_02, "03": lesson_03, "04": lesson_04, "05": lesson_05}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", default=list(FIGURES), help="lesson numbers (default: all)")
    parser.add_argument("--weights", default="random", help="random (default), imagenet, auto or a file path")
    args = parser.parse_args(argv)
    os.environ.pop("NST_COURSE_QUICK", None)  # the lessons' real defaults, not the test sizes
    os.environ.setdefault("MPLBACKEND", "Agg")

    import nst_course as nst
    from nst_course.course import plotting

    net = nst.load_vgg19(weights=args.weights)
    OUT.mkdir(parents=True, exist_ok=True)
    for lesson in args.lessons:
        if lesson not in FIGURES:
            print(f"no lesson {lesson!r}; choose from {', '.join(FIGURES)}", file=sys.stderr)
            return 2
        start = time.perf_counter()
        figure = FIGURES[lesson](nst, plotting, net)
        path = OUT / f"lesson-{lesson}.png"
        save_small(figure, path)
        size = path.stat().st_size // 1024
        print(f"{path.relative_to(ROOT)}: {size} KB in {time.perf_counter() - start:.0f} s (weights: {net.weights})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
