"""The ``nst-course`` program: one table of subcommands, each carried out by a small module here.

:data:`COMMANDS` names each subcommand's module. A module has ``add_parser(sub)`` (its
subcommand, options and help; the family ``transfer``, ``reconstruct``, ``texture``
shares one module and adds all three) and ``run(args)`` (the exit status). A module is
imported only when its command runs, or when ``--help`` lists them all: ``lessons``,
``lab`` and ``pack`` start without torch (a hub runs ``nst-course lessons`` in every
learner's start hook), since their modules import only the standard library and
:mod:`nst_course.course`'s light modules.

:func:`one_line` is where a command's mistakes, Ctrl-C, SIGTERM and warnings become one
line each. The console script and ``python -m nst_course`` call :func:`main`.

>>> COMMANDS["texture"], COMMANDS["lessons"]
('tasks', 'lessons')
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType

from .._version import __version__
from ..errors import NSTError
from .parsing import EXAMPLES, Parser

__all__ = ["COMMANDS", "build_parser", "main", "one_line"]

#: Every subcommand, in the order ``--help`` lists them, and the module of this package that carries it out.
COMMANDS = {
    "transfer": "tasks",
    "reconstruct": "tasks",
    "texture": "tasks",
    "weights": "weights",
    "samples": "samples",
    "lessons": "lessons",
    "lab": "lab",
    "pack": "pack",
    "figure": "figure",
    "atlas": "atlas",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def _examples() -> str:
    from ..media.samples import PAINTINGS, sample_names

    samples = ", ".join(n for n in sample_names() if n not in PAINTINGS)
    return EXAMPLES.format(samples=samples, paintings=", ".join(PAINTINGS))


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the named ``commands``, importing only their modules; None: every command, with examples."""
    parser = Parser(
        prog="nst-course",
        description="Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016) on VGG-19.",
        epilog=_examples() if commands is None else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nst-course {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS[name] for name in (COMMANDS if commands is None else commands)):
        _module(module).add_parser(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line (called as :func:`warnings.showwarning` is, hence its arguments)."""
    print(f"nst-course: warning: {message}", file=sys.stderr)


def _stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (a hub culling a server, ``kill``) stops a run as Ctrl-C does: the best image is saved."""
    raise KeyboardInterrupt


def one_line(command: Callable[[], int]) -> int:
    """Run ``command``; its exit status, or 2 after an :class:`NSTError` and 130 after Ctrl-C or SIGTERM.

    Each of those ends in one line on stderr, never a traceback; warnings are one line
    each too, for this command only (the process's own way is restored on return).
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return command()
            except NSTError as exc:
                print(f"nst-course: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print("nst-course: interrupted", file=sys.stderr)
                return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _parse_and_run(argv: list[str]) -> int:
    # a command named first is parsed by its module alone: `nst-course lessons` imports no torch
    commands = [argv[0]] if argv and argv[0] in COMMANDS else None
    args = build_parser(commands).parse_args(argv)  # importing the modules can take seconds (torch)
    return _module(COMMANDS[args.command]).run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nst-course`` with ``argv`` (default: this program's arguments); the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    return one_line(lambda: _parse_and_run(arguments))
