"""``nst-course transfer | reconstruct | texture``: the three tasks, which share their options.

Everything the user typed is checked before VGG-19 loads: the output's name and
place, the images, the layers against the size, and whether the run fits in memory.
A run stopped by Ctrl-C (or SIGTERM) saves its best image and exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..engine.devices import get_device
from ..engine.estimate import check_fits, estimate_settings, shape_at, task_layers
from ..engine.loop import OptimizationError
from ..engine.settings import Settings
from ..engine.tasks import (
    COARSE_TO_FINE_FROM,
    check_size,
    load_styles,
    plan_scales,
    reconstruct,
    synthesize_texture,
    transfer,
)
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, load_vgg19
from ..errors import NSTError
from ..media.files import check_writable
from ..media.images import load_image
from .parsing import EXAMPLES, csv_list, floats, ints

__all__ = ["add_parser", "run"]


def _common(parser: argparse.ArgumentParser, *, steps: int) -> None:
    d = Settings()
    g = parser.add_argument_group("common options")
    g.add_argument("-o", "--output", required=True, help="where to save the result (.png)")
    g.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    g.add_argument("--size", type=int, default=d.size, help=f"longest side of the result in px (default {d.size})")
    g.add_argument("--steps", type=int, default=steps, help=f"optimiser steps (default {steps})")
    g.add_argument(
        "--weights", default=None, help="auto, imagenet, random or a file path (default $NST_COURSE_WEIGHTS or auto)"
    )
    g.add_argument("--seed", type=int, default=d.seed, help="seed for the starting noise and random weights")
    g.add_argument("--init", default=None, help="starting image: content (transfer's default), noise or style")
    g.add_argument("--optimizer", default=d.optimizer, help="lbfgs (the paper's) or adam")
    g.add_argument("--lr", type=float, default=None, help="step size (default 1 for lbfgs, 0.02 for adam)")
    g.add_argument("--pooling", default="avg", help="avg (the paper's, default) or max")
    g.add_argument("--normalization", default=d.normalization, help="relative (default), paper or mean")
    g.add_argument("--tv-weight", type=float, default=d.tv_weight, help="total-variation weight (default 0)")
    g.add_argument(
        "--scales",
        type=ints,
        default=(),
        help=f"coarse to fine, e.g. 128,256 (default: half size first from {COARSE_TO_FINE_FROM} px on; "
        "give the size alone for one scale)",
    )
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _style_scale_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--style-scale",
        type=float,
        default=Settings().style_scale,
        help="the style image's size as a multiple of the result's: 0.5 gives smaller strokes, 2 larger (default 1)",
    )


def _lesson05_options(parser: argparse.ArgumentParser) -> None:
    """Colour preservation, the style image's scale and blends of several styles (lesson 05)."""
    parser.add_argument(
        "--preserve-colour",
        default=None,
        metavar="{luminance,histogram}",
        help="keep the photo's colours: luminance (transfer luminance only) or histogram (recolour the style)",
    )
    parser.add_argument(
        "--style-blend", type=floats, default=None, help="one weight per style image, e.g. 0.7,0.3 (default equal)"
    )
    _style_scale_option(parser)


def _task_parser(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand that runs the optimisation; its help ends with the examples."""
    examples = EXAMPLES.split("\n\n")[0]
    return sub.add_parser(name, help=help, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_parser(sub) -> None:
    """Add ``transfer``, ``reconstruct`` and ``texture`` to the command line's subcommands."""
    d = Settings()
    p = _task_parser(sub, "transfer", "paint CONTENT in the style of STYLE")
    p.add_argument("content", help="content image: a path, URL or built-in name")
    p.add_argument("style", nargs="+", help="style image(s): a path, URL or built-in name; several are blended")
    p.add_argument("--content-layers", type=csv_list, default=(CONTENT_LAYER,), help=f"default {CONTENT_LAYER}")
    p.add_argument("--style-layers", type=csv_list, default=STYLE_LAYERS, help=f"default {','.join(STYLE_LAYERS)}")
    p.add_argument("--style-layer-weights", type=floats, default=None, help="one per style layer (default 1/L each)")
    p.add_argument("--content-weight", type=float, default=d.content_weight, help="alpha (default 1)")
    p.add_argument(
        "--style-weight",
        type=float,
        default=None,
        help="beta (default: 3 with relative or mean normalisation, 1e4 with the paper's)",
    )
    _lesson05_options(p)
    _common(p, steps=d.steps)

    p = _task_parser(sub, "reconstruct", "rebuild IMAGE from one layer's features (lesson 01)")
    p.add_argument("image", help="a path, URL or built-in name")
    p.add_argument("--layer", type=csv_list, default=(CONTENT_LAYER,), help=f"layer(s), default {CONTENT_LAYER}")
    _common(p, steps=d.steps)

    p = _task_parser(sub, "texture", "synthesise STYLE's texture from Gram matrices (lesson 02)")
    p.add_argument("style", help="a path, URL or built-in name")
    p.add_argument("--layers", type=csv_list, default=STYLE_LAYERS, help=f"default {','.join(STYLE_LAYERS)}")
    _style_scale_option(p)
    _common(p, steps=d.steps)


def _check_output(path: str, overwrite: bool) -> Path:
    out = Path(path).expanduser()
    if out.suffix.lower() != ".png":
        raise NSTError(f"results are saved as PNG: name the output *.png, not {out.name!r}")
    return check_writable(out, overwrite=overwrite)  # before the network loads; the save checks again


def _settings(args: argparse.Namespace, **extra) -> Settings:
    """What to optimise; which network to use is not a setting (see :func:`run`)."""
    return Settings(
        size=args.size,
        steps=args.steps,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        init=args.init or ("content" if args.command == "transfer" else "noise"),
        seed=args.seed,
        tv_weight=args.tv_weight,
        normalization=args.normalization,
        scales=args.scales,
        **extra,
    )


def run(args: argparse.Namespace) -> int:
    """Run the task, save the result; 130 if Ctrl-C stopped it (the best image so far is saved)."""
    out = _check_output(args.output, args.overwrite)
    if args.command == "transfer":
        settings = _settings(
            args,
            content_layers=args.content_layers,
            style_layers=args.style_layers,
            style_layer_weights=args.style_layer_weights,
            content_weight=args.content_weight,
            style_weight=args.style_weight,
            preserve_colour=args.preserve_colour,
            style_blend=args.style_blend,
            style_scale=args.style_scale,
        )
    elif args.command == "reconstruct":
        settings = _settings(args, content_layers=args.layer)
    else:
        settings = _settings(args, style_layers=args.layers, style_scale=args.style_scale)
    # read the images first: a wrong path should fail at once, not after loading VGG-19
    images: list[Any] = (  # the content (or the only) image first; a transfer's styles second
        [load_image(args.content), load_styles(args.style, settings)]
        if args.command == "transfer"
        else [load_image(args.image if args.command == "reconstruct" else args.style)]
    )
    task = {"transfer": "transfer", "reconstruct": "reconstruct", "texture": "texture"}[args.command]
    # refuse a size too small for the layers, or one that cannot fit, before the network and the
    # run take any memory (the estimate's probe would otherwise fail inside the network)
    for size in plan_scales(settings):
        check_size(shape_at(images[0].shape, size), task_layers(settings, task))
    shape = shape_at(images[0].shape, max(plan_scales(settings)))
    check_fits(
        shape,
        task_layers(settings, task),
        optimizer=settings.optimizer,
        device=get_device(args.device),
        steps=args.steps,
    )
    # weights=None: the package resolves $NST_COURSE_WEIGHTS (or "auto") itself
    net = load_vgg19(weights=args.weights, pooling=args.pooling, device=args.device, seed=args.seed)
    print(f"weights: {net.weights}; device: {net.device}", file=sys.stderr)
    print(f"estimate: {estimate_settings(net, settings, shape=images[0].shape, task=task).line()}", file=sys.stderr)
    progress = not args.quiet
    try:
        if args.command == "transfer":
            result = transfer(*images, settings=settings, net=net, progress=progress)
        elif args.command == "reconstruct":
            result = reconstruct(
                images[0], layer=args.layer, settings=settings, net=net, progress=progress, init=settings.init
            )
        else:
            result = synthesize_texture(
                images[0], layers=args.layers, settings=settings, net=net, progress=progress, init=settings.init
            )
    except OptimizationError as exc:
        exc.result.save(out, overwrite=args.overwrite)
        raise NSTError(f"{exc} (saved it to {out})") from None
    result.save(out, overwrite=args.overwrite)
    how = {
        "finished": "",
        "converged": f" (converged at step {result.converged_step}: the loss had stopped falling)",
        "interrupted": " (interrupted: saved the best image so far"
        + (
            f", from the {result.extra['upsampled_from']} px pass, upsampled to {args.size} px)"
            if "upsampled_from" in result.extra
            else ")"
        ),
        "stopped": " (stopped early)",
    }
    print(
        f"saved {out}: {result.steps_done} steps in {result.seconds:.1f} s, loss fell "
        f"{100 * result.loss_drop:.0f}%{how[result.stopped]}"
    )
    return 130 if result.stopped == "interrupted" else 0
