"""``nst-course atlas LAYER|all``: the layer atlas from the command line.

One layer writes the output file itself; ``all`` writes one page per layer of
:data:`nst_course.course.atlases.ATLAS_LAYERS`, named ``<output>-<layer>.png``.

>>> atlas_layers("all")[-1], atlas_layers("relu3_1")
('relu4_2', ['relu3_1'])
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine.vgg import check_layers
from ..errors import NSTError

__all__ = ["add_parser", "atlas_layers", "run"]


def atlas_layers(text: str) -> list[str]:
    """``"all"`` or one layer name as the list of layers to draw."""
    from ..course.atlases import ATLAS_LAYERS

    return list(ATLAS_LAYERS) if text == "all" else check_layers([text])


def _channels(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated channel numbers, not {text!r}") from None


def add_parser(sub) -> None:
    """Add ``atlas`` to the command line's subcommands."""
    from ..engine.featurevis import VisSettings

    d = VisSettings()
    p = sub.add_parser(
        "atlas", help="what each channel of a layer looks for: optimised images beside the sample patches"
    )
    p.add_argument("layer", help="a layer name (e.g. relu3_1) or all (relu1_1 to relu5_1 and relu4_2)")
    p.add_argument("-o", "--output", required=True, help="the .png to write (all: one <name>-<layer>.png per layer)")
    p.add_argument("--channels", type=_channels, default=None, help="e.g. 0,5,9 (default the first 16)")
    p.add_argument("--size", type=int, default=d.size, help=f"side of each visualisation in px (default {d.size})")
    p.add_argument("--steps", type=int, default=d.steps, help=f"Adam steps (default {d.steps})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for the starting noise, the moves and random weights")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, help="total-variation penalty (default 0)")
    p.add_argument("--weights", default=None, help="auto, imagenet, random or a file path")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _outputs(output: str, layers: list[str], overwrite: bool) -> list[Path]:
    out = Path(output).expanduser()
    if out.suffix.lower() != ".png":
        raise NSTError(f"an atlas is saved as PNG: name the output *.png, not {out.name!r}")
    paths = [out] if len(layers) == 1 else [out.with_name(f"{out.stem}-{layer}.png") for layer in layers]
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise NSTError(f"{existing[0]} exists; choose another name or add --overwrite")
    return paths


def run(args: argparse.Namespace) -> int:
    """Draw and save the atlas of each layer asked for."""
    from ..course.atlases import atlas, atlas_seconds, check_channels, default_channels
    from ..engine.featurevis import VisSettings
    from ..engine.vgg import load_vgg19

    layers = atlas_layers(args.layer)
    paths = _outputs(args.output, layers, args.overwrite)
    settings = VisSettings(size=args.size, steps=args.steps, seed=args.seed, tv_weight=args.tv_weight)
    # every mistake is refused before the network loads
    chosen = {
        layer: check_channels(layer, args.channels) if args.channels else default_channels(layer) for layer in layers
    }
    net = load_vgg19(weights=args.weights, device=args.device, seed=args.seed)
    seconds = sum(atlas_seconds(net, layer, len(chosen[layer]), settings) for layer in layers)
    print(f"weights: {net.weights}; device: {net.device}", file=sys.stderr)
    print(
        f"estimate: about {seconds / 60:.1f} min for {len(layers)} layer(s), {settings.steps} steps "
        f"at {settings.size} px",
        file=sys.stderr,
    )
    for layer, path in zip(layers, paths, strict=True):
        page = atlas(layer, chosen[layer], net=net, settings=settings, progress=not args.quiet)
        page.save(path)
        print(f"saved {path}: {layer}, {len(chosen[layer])} channels")
    return 0
