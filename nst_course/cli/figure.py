"""``nst-course figure N|all``: the paper's figures from the command line, for a teacher preparing a class.

Each figure is written as ``figN.png`` (the layout of the paper, with every panel's
settings in its metadata) and each panel as ``figN-<panel>.png`` as soon as it is
finished, so Ctrl-C keeps what is done.

>>> figure_numbers("all"), figure_numbers("4")
([3, 4, 5, 6, 7], [4])
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine.devices import get_device
from ..engine.estimate import check_fits
from ..engine.settings import Settings
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, load_vgg19
from ..errors import NSTError
from ..media.files import check_writable
from ..paper import FIGURES, PANEL_COUNTS, SIZE, STEPS, estimate_figure_seconds, save_panel

__all__ = ["add_parser", "figure_numbers", "run"]


def figure_numbers(text: str) -> list[int]:
    """``"all"`` or one figure number (3 to 7) as the list of figures to render."""
    if text == "all":
        return list(FIGURES)
    if text.isdigit() and int(text) in FIGURES:
        return [int(text)]
    raise NSTError(f"no figure {text!r}: choose one of {', '.join(map(str, FIGURES))} or all")


def add_parser(sub) -> None:
    """Add ``figure`` to the command line's subcommands."""
    p = sub.add_parser("figure", help="rerun one of the paper's figures 3 to 7 (or all) and save it with its panels")
    p.add_argument("number", help="3, 4, 5, 6, 7 or all")
    p.add_argument("--out", default="figures", help="folder for figN.png and its panels (default ./figures)")
    p.add_argument("--size", type=int, default=SIZE, help=f"longest side of each panel in px (default {SIZE})")
    p.add_argument("--steps", type=int, default=STEPS, help=f"optimiser steps per panel (default {STEPS})")
    p.add_argument("--normalization", default=None, help="relative (default), paper or mean")
    p.add_argument("--weights", default=None, help="auto, imagenet, random or a file path")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--overwrite", action="store_true", help="replace figures already in the folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Render the figures asked for; 130 if Ctrl-C cut one short (its finished panels are saved)."""
    from tqdm.auto import tqdm

    numbers = figure_numbers(args.number)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise NSTError(f"{out} is a file; --out needs a folder")
    existing = [out / f"fig{n}.png" for n in numbers if (out / f"fig{n}.png").exists()]
    if existing and not args.overwrite:
        raise NSTError(f"{existing[0]} exists; choose another --out folder or add --overwrite")
    overrides = {"size": args.size, "steps": args.steps}
    if args.normalization:
        overrides["normalization"] = args.normalization
    # the settings, the memory and the output folder are checked before the network takes any memory
    Settings(**overrides)
    check_fits(
        (args.size, args.size),
        (*STYLE_LAYERS, CONTENT_LAYER),
        optimizer=Settings().optimizer,
        device=get_device(args.device),
        steps=args.steps,
        what="figure panel",
    )
    for number in numbers:
        check_writable(out / f"fig{number}.png", overwrite=True)
    net = load_vgg19(weights=args.weights, device=args.device)
    seconds = estimate_figure_seconds(net, numbers, size=args.size, steps=args.steps)
    print(f"weights: {net.weights}; device: {net.device}", file=sys.stderr)
    print(f"about {seconds / 60:.1f} min for Fig. {', '.join(map(str, numbers))} at {args.size} px", file=sys.stderr)
    total = sum(PANEL_COUNTS[n] for n in numbers) * args.steps
    with tqdm(total=total, desc=f"Fig. {args.number}", unit="step", disable=args.quiet) as bar:
        for number in numbers:
            figure = FIGURES[number](
                net=net,
                progress=bar,
                on_panel=lambda panel, number=number: save_panel(number, panel, out),
                **overrides,
            )
            path = figure.save(out, panels=False)[0]
            bar.write(f"saved {path}: {len(figure.panels)} of {len(figure.planned)} panels")
            if figure.interrupted:
                bar.write("nst-course: interrupted: the finished panels are saved", file=sys.stderr)
                return 130
    return 0
