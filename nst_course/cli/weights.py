"""``nst-course weights info | download | export``: which weights a run would use, and copies for offline machines."""

from __future__ import annotations

import argparse
import warnings

from ..engine.vgg import load_vgg19
from ..engine.weights import WEIGHTS_ENV, export_weights, imagenet_cache_path, weights_variable
from ..errors import NSTError
from ..media.files import check_writable

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add ``weights`` to the command line's subcommands."""
    p = sub.add_parser("weights", help="show, download or export the VGG-19 weights")
    p.add_argument("action", choices=["info", "download", "export"])
    p.add_argument("path", nargs="?", help="export: the file to write")
    p.add_argument("--weights", default=None, help="export: which weights to export (default as for runs)")
    p.add_argument("--float32", action="store_true", help="export: full precision (default float16, ~40 MB)")
    p.add_argument("--overwrite", action="store_true", help="export: replace the file if it exists")


def run(args: argparse.Namespace) -> int:
    """Show, download or export the weights."""
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
