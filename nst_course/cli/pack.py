"""``nst-course pack FOLDER``: write everything an offline classroom needs into a new folder.

Standard library only to start; the weights are loaded (torch) only while the pack is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..course import pack as offline

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add ``pack`` to the command line's subcommands."""
    p = sub.add_parser("pack", help="write a folder with everything an offline classroom needs")
    p.add_argument("folder", help="a new folder for the pack")
    p.add_argument(
        "--platform",
        action="append",
        default=[],
        help="learners' platform tag, e.g. manylinux2014_x86_64 (brings manylinux_2_28 too), win_amd64; repeatable",
    )
    p.add_argument("--python", help="learners' Python version, e.g. 3.11")
    p.add_argument("--no-deps", action="store_true", help="only the course wheel, no dependencies")
    p.add_argument("--no-torch", action="store_true", help="leave out torch and torchvision (about 1 GB or more)")
    p.add_argument(
        "--wheel",
        action="append",
        default=[],
        help="add this wheel, e.g. a CPU-only torch with its torchvision (both, or neither); repeatable",
    )
    p.add_argument("--course-wheel", help="the course wheel to pack (default: build it from this checkout)")
    p.add_argument("--weights", help="weights to export: auto, imagenet, a file, or none (default as for runs)")
    p.add_argument("--paintings", default="download", help="download (default), cached or none")


def run(args: argparse.Namespace) -> int:
    """Write the pack and print what is in it; 0."""
    options = offline.PackOptions(
        platforms=args.platform,
        python=args.python,
        dependencies=not args.no_deps,
        torch=not args.no_torch,
        extra_wheels=[Path(w) for w in args.wheel],
        course_wheel=Path(args.course_wheel) if args.course_wheel else None,
        weights=args.weights,
        paintings=args.paintings,
    )
    for line in offline.pack(args.folder, options):
        print(line)
    return 0
