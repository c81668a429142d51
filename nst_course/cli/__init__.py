"""The ``nst-course`` program's entry: the classroom commands start without loading torch.

``lessons``, ``lab`` and ``pack`` copy notebooks, start JupyterLab or run pip; a hub runs
``nst-course lessons`` in every learner's start hook, so they take only the standard library
and :mod:`nst_course.course.classroom`. Every other command goes to :func:`nst_course.cli.commands.main`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..errors import NSTError

CLASSROOM_COMMANDS = ("lessons", "lab", "pack")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, then exit 2, as in nst_course.cli.commands
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def classroom_parser() -> argparse.ArgumentParser:
    """The parser of the classroom commands alone (``nst-course --help`` lists every command)."""
    from ..course.classroom import add_commands

    parser = _Parser(prog="nst-course", description="The course's lessons, JupyterLab and offline pack.")
    parser.add_argument("--version", action="version", version=f"nst-course {__version__}")
    add_commands(parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND"))
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"nst-course: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in CLASSROOM_COMMANDS:
        try:
            from .commands import main as full_main  # imports torch: seconds, during which Ctrl-C is one line too
        except KeyboardInterrupt:
            print("nst-course: interrupted", file=sys.stderr)
            return 130
        return full_main(argv)
    args = classroom_parser().parse_args(argv)
    from ..course.classroom import run_command

    with warnings.catch_warnings():  # one-line warnings for this command only, as in nst_course.cli.commands
        warnings.showwarning = _show_warning
        try:
            return run_command(args)
        except NSTError as exc:
            print(f"nst-course: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("nst-course: interrupted", file=sys.stderr)
            return 130
