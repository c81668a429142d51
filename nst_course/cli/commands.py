"""The ``nst-course`` command line: a thin layer over the package's API."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..engine.devices import get_device
from ..engine.estimate import check_fits, estimate_settings, shape_at, task_layers
from ..engine.vgg import CONTENT_LAYER, STYLE_LAYERS, load_vgg19
from ..engine.weights import WEIGHTS_ENV, export_weights, imagenet_cache_path, weights_variable
from ..errors import NSTError
from ..media.files import check_writable
from ..media.images import load_image
from ..media.samples import PAINTINGS, sample_names

# isort: split
# The engine's API: every name the command line takes from it, in one place.
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

EXAMPLES = """\
examples:
  nst-course transfer town swirls -o town-swirls.png
  nst-course transfer photo.jpg starry_night -o out.png --size 384 --steps 300
  nst-course transfer town swirls --preserve-colour luminance -o town-own-colours.png
  nst-course transfer town swirls waves --style-blend 0.7,0.3 -o town-blend.png
  nst-course reconstruct hopper --layer relu2_2 -o hopper-relu2_2.png
  nst-course texture mosaic --layers relu1_1,relu2_1,relu3_1 -o texture.png
  nst-course figure 4 --out figures      (the paper's Fig. 4; 3 to 7 or all)
  nst-course atlas relu3_1 -o atlas.png  (what each channel looks for; or all)
  nst-course weights info
  nst-course weights export vgg19-features.pth     (copy it to offline machines)
  NST_COURSE_WEIGHTS=vgg19-features.pth nst-course transfer town waves -o out.png

built-in images: {samples} (offline);
  {paintings} (downloaded once).
weights: auto (default: imagenet if cached or downloadable, else random with a
warning), imagenet, random (untrained), or a file path; $NST_COURSE_WEIGHTS sets
the default for a whole session. Results are PNGs whose metadata records the
settings, seed, versions and weights.
"""


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in _csv(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, not {text!r}") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _csv(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, not {text!r}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, then exit 2, like every other user error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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
        type=_ints,
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
        "--style-blend", type=_floats, default=None, help="one weight per style image, e.g. 0.7,0.3 (default equal)"
    )
    _style_scale_option(parser)


def _run_parser(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand that runs the optimisation; its help ends with the examples."""
    examples = EXAMPLES.split("\n\n")[0]
    return sub.add_parser(name, help=help, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    d = Settings()
    parser = _Parser(
        prog="nst-course",
        description="Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016) on VGG-19.",
        epilog=EXAMPLES.format(
            samples=", ".join(n for n in sample_names() if n not in PAINTINGS), paintings=", ".join(PAINTINGS)
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nst-course {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    p = _run_parser(sub, "transfer", "paint CONTENT in the style of STYLE")
    p.add_argument("content", help="content image: a path, URL or built-in name")
    p.add_argument("style", nargs="+", help="style image(s): a path, URL or built-in name; several are blended")
    p.add_argument("--content-layers", type=_csv, default=(CONTENT_LAYER,), help=f"default {CONTENT_LAYER}")
    p.add_argument("--style-layers", type=_csv, default=STYLE_LAYERS, help=f"default {','.join(STYLE_LAYERS)}")
    p.add_argument("--style-layer-weights", type=_floats, default=None, help="one per style layer (default 1/L each)")
    p.add_argument("--content-weight", type=float, default=d.content_weight, help="alpha (default 1)")
    p.add_argument(
        "--style-weight",
        type=float,
        default=None,
        help="beta (default: 3 with relative or mean normalisation, 1e4 with the paper's)",
    )
    _lesson05_options(p)
    _common(p, steps=d.steps)

    p = _run_parser(sub, "reconstruct", "rebuild IMAGE from one layer's features (lesson 01)")
    p.add_argument("image", help="a path, URL or built-in name")
    p.add_argument("--layer", type=_csv, default=(CONTENT_LAYER,), help=f"layer(s), default {CONTENT_LAYER}")
    _common(p, steps=d.steps)

    p = _run_parser(sub, "texture", "synthesise STYLE's texture from Gram matrices (lesson 02)")
    p.add_argument("style", help="a path, URL or built-in name")
    p.add_argument("--layers", type=_csv, default=STYLE_LAYERS, help=f"default {','.join(STYLE_LAYERS)}")
    _style_scale_option(p)
    _common(p, steps=d.steps)

    p = sub.add_parser("weights", help="show, download or export the VGG-19 weights")
    p.add_argument("action", choices=["info", "download", "export"])
    p.add_argument("path", nargs="?", help="export: the file to write")
    p.add_argument("--weights", default=None, help="export: which weights to export (default as for runs)")
    p.add_argument("--float32", action="store_true", help="export: full precision (default float16, ~40 MB)")
    p.add_argument("--overwrite", action="store_true", help="export: replace the file if it exists")

    sub.add_parser("samples", help="list the built-in images")

    from ..course.classroom import add_commands

    add_commands(sub)  # lessons, lab, pack
    from .figure import add_command

    add_command(sub)  # figure
    from .atlas import add_command as add_atlas

    add_atlas(sub)  # atlas
    return parser


def _check_output(path: str, overwrite: bool) -> Path:
    out = Path(path).expanduser()
    if out.suffix.lower() != ".png":
        raise NSTError(f"results are saved as PNG: name the output *.png, not {out.name!r}")
    return check_writable(out, overwrite=overwrite)  # before the network loads; the save checks again


def _settings(args: argparse.Namespace, **extra) -> Settings:
    """What to optimise; which network to use is not a setting (see :func:`_run`)."""
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


def _run(args: argparse.Namespace) -> int:
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
    images = (
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


def _weights(args: argparse.Namespace) -> int:
    if args.action == "info":
        cached = imagenet_cache_path()
        print(f"${WEIGHTS_ENV}: {weights_variable() or '(not set: auto)'}")
        print(f"ImageNet VGG-19 cache: {cached} ({'present' if cached.is_file() else 'not downloaded'})")
        net = load_vgg19(weights=args.weights, progress=False)
        print(f"in use now: {net.weights}")
    elif args.action == "download":
        net = load_vgg19(weights="imagenet")
        print(f"ready: {net.weights} in {imagenet_cache_path()}")
    else:
        if not args.path:
            raise NSTError("weights export needs a file to write, e.g. nst-course weights export vgg19-features.pth")
        target = check_writable(args.path, overwrite=args.overwrite)
        net = load_vgg19(weights=args.weights)
        if not net.weights.pretrained:
            warnings.warn(f"exporting {net.weights}: these are NOT trained weights", stacklevel=1)
        path = export_weights(net, target, half=not args.float32, overwrite=args.overwrite)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) from {net.weights}")
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"nst-course: warning: {message}", file=sys.stderr)


def _stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (a hub culling a server, ``kill``) stops a run as Ctrl-C does: the best image is saved."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main_thread else None
    try:
        with warnings.catch_warnings():  # one-line warnings for this command only; restored on return
            warnings.showwarning = _show_warning
            return _main(args)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "weights":
            return _weights(args)
        if args.command == "figure":
            from .figure import run_command as run_figure

            return run_figure(args)
        if args.command == "atlas":
            from .atlas import run_command as run_atlas

            return run_atlas(args)
        if args.command in ("lessons", "lab", "pack"):
            from ..course.classroom import run_command

            return run_command(args)
        if args.command == "samples":
            for name in sample_names():
                note = f"  downloads: {PAINTINGS[name].credit}" if name in PAINTINGS else ""
                print(f"{name}{note}")
            return 0
        return _run(args)
    except NSTError as exc:
        print(f"nst-course: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nst-course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
