"""``nst-course lessons FOLDER``: copy the lesson notebooks, never over the learner's changes.

Standard library only (no torch): a hub runs this in every learner's start hook.
"""

from __future__ import annotations

import argparse

from ..course.classroom import copy_lessons

__all__ = ["add_parser", "copy_and_say", "run"]


def add_parser(sub) -> None:
    """Add ``lessons`` to the command line's subcommands."""
    p = sub.add_parser("lessons", help="copy the lesson notebooks into a folder (never over your changes)")
    p.add_argument("folder", help="where to put the notebooks (created if needed)")
    p.add_argument("--solutions", action="store_true", help="also copy the solutions (into FOLDER/solutions)")


def copy_and_say(folder: str, *, solutions: bool) -> None:
    """Copy the lessons into ``folder`` and print what was copied, updated or kept."""
    for line in copy_lessons(folder, solutions=solutions).lines():
        print(line)


def run(args: argparse.Namespace) -> int:
    """Copy the lessons; 0."""
    copy_and_say(args.folder, solutions=args.solutions)
    return 0
