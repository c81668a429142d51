"""``nst-course lab [FOLDER]``: copy the lessons there (if needed), then open JupyterLab on it.

Standard library only until JupyterLab starts, in its own process.
"""

from __future__ import annotations

import argparse

from ..course.classroom import lab_command, start_lab
from .lessons import copy_and_say

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add ``lab`` to the command line's subcommands."""
    p = sub.add_parser("lab", help="copy the lessons into a folder (if needed) and open JupyterLab there")
    p.add_argument("folder", nargs="?", default="nst-course-lessons", help="default ./nst-course-lessons")
    p.add_argument("--solutions", action="store_true", help="also copy the solutions")
    p.add_argument("--dry-run", action="store_true", help="copy, then print the JupyterLab command instead")


def run(args: argparse.Namespace) -> int:
    """Copy the lessons, then JupyterLab's exit status (or 0 after printing its command with --dry-run)."""
    copy_and_say(args.folder, solutions=args.solutions)
    command = lab_command(args.folder)
    if args.dry_run:
        print(" ".join(command))
        return 0
    return start_lab(command)
