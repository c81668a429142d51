"""The one exception type a user of nst_course is meant to see.

Every problem caused by input (a missing file, an unknown layer, weights that
cannot be read) raises :class:`NSTError` with a single line that says what went
wrong and what to do. The command line prints that line and exits with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["NSTError"]


class NSTError(Exception):
    """A user-facing error with a one-line, actionable message."""
