"""``nst-course samples``: the built-in images, and where each painting is downloaded from."""

from __future__ import annotations

import argparse

from ..media.samples import PAINTINGS, sample_names

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add ``samples`` to the command line's subcommands."""
    sub.add_parser("samples", help="list the built-in images")


def run(args: argparse.Namespace) -> int:
    """One line per built-in image; a painting's line says where it is downloaded from."""
    for name in sample_names():
        note = f"  downloads: {PAINTINGS[name].credit}" if name in PAINTINGS else ""
        print(f"{name}{note}")
    return 0
