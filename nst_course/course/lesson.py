"""Lesson defaults: each lesson's settings, a quick mode for tests, and time estimates.

* :func:`lesson_settings` gives each lesson's defaults, chosen so that every lesson
  runs top to bottom on a laptop CPU in a few minutes. With the environment
  variable ``NST_COURSE_QUICK=1`` (what the notebook tests set) sizes and step
  counts shrink to almost nothing: the pictures are then meaningless, but every
  cell still runs.
* :func:`estimate_seconds` times one optimisation step on this machine
  (``nst_course.engine.estimate``), so that a lesson can say how long a cell will take before it starts.

* :func:`for_network` shows the one of two texts that is true for the network in use:
  what a picture shows on ImageNet weights is not what it shows on untrained ones.

Which network a lesson uses is not a setting: the lesson loads it with
:func:`nst_course.load_vgg19` and passes it on.
"""

from __future__ import annotations

import os

from ..engine.settings import Settings, replace_settings
from ..engine.vgg import VGG19
from ..errors import NSTError

__all__ = ["PAPER_SIZE_ENV", "QUICK_ENV", "for_network", "lesson_settings", "quick_mode"]

QUICK_ENV = "NST_COURSE_QUICK"
#: Set to 1 to run lessons 01 to 03 at the paper's size (about 512 px): for a GPU, or time.
PAPER_SIZE_ENV = "NST_COURSE_PAPER_SIZE"
PAPER_SIZE = 512
# Lessons 04 and 05 run dozens of optimisations each: they stay at their own sizes.
_PAPER_SIZE_LESSONS = ("01", "02", "03")

# Sizes and steps per lesson. 128 px keeps the deepest layers (conv5, 1/16 of the
# image) at 8 x 5 positions: enough to show what they keep, cheap enough for a CPU.
_LESSONS: dict[str, dict[str, int]] = {
    "00": {"size": 224, "steps": 1},
    "01": {"size": 128, "steps": 100},
    "02": {"size": 128, "steps": 100},
    "03": {"size": 128, "steps": 100},
    "04": {"size": 64, "steps": 40},
    "05": {"size": 128, "steps": 60},
    # Lesson 06 optimises about 20 images (Adam, to relu3_1): smaller and shorter runs.
    "06": {"size": 96, "steps": 48},
}
_QUICK = {"size": 48, "steps": 8}
# Lesson 04 runs some 35 optimisations (a 5 x 4 grid and four more figures): smaller images still.
_QUICK_LESSONS: dict[str, dict[str, int]] = {"04": {"size": 32, "steps": 8}}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def quick_mode() -> bool:
    """True when ``$NST_COURSE_QUICK`` is set to anything but "", "0", "false" or "no"."""
    return _flag(QUICK_ENV)


def _lesson_key(lesson: int | str) -> str:
    text = f"{lesson:02d}" if isinstance(lesson, int) else str(lesson)[:2]
    if text not in _LESSONS:
        raise NSTError(f"no lesson {lesson!r}; the lessons are {', '.join(_LESSONS)}")
    return text


def lesson_settings(lesson: int | str, **overrides: object) -> Settings:
    """The default :class:`~nst_course.Settings` of a lesson (0 to 6, or "01-..."), quick mode included.

    Keyword arguments replace fields, e.g. ``lesson_settings(1, steps=300)``;
    in quick mode ``size`` and ``steps`` stay small whatever is asked. With
    ``$NST_COURSE_PAPER_SIZE`` set, lessons 01 to 03 run at 512 px, the paper's
    size (about 16 times the work of 128 px: for a GPU, or for those with time).

    >>> settings = lesson_settings(1, style_weight=5.0)
    >>> settings.size in (_QUICK["size"], 128), settings.style_weight
    (True, 5.0)
    """
    key = _lesson_key(lesson)
    values: dict[str, object] = {**_LESSONS[key], **overrides}
    if _flag(PAPER_SIZE_ENV) and key in _PAPER_SIZE_LESSONS and "size" not in overrides:
        values["size"] = PAPER_SIZE  # the paper's size; quick mode still wins below
    if quick_mode():
        for name, most in _QUICK_LESSONS.get(key, _QUICK).items():
            value = values[name]
            if isinstance(value, int):  # anything else is refused by Settings with its own message
                values[name] = min(value, most)
    return replace_settings(None, values)


def for_network(net: VGG19, *, trained: str, untrained: str) -> None:
    """Show the text that is true for ``net``: ``trained`` or ``untrained``.

    A lesson's sentence about what a picture shows depends on the weights that made it.
    Each such sentence is written twice, once for ImageNet-trained weights (where it can
    only cite what the paper reports, unless it was checked on those weights) and once for
    untrained ones; ``net.weights.pretrained`` picks the one shown. In a notebook the text
    is shown as Markdown under a line naming the weights; elsewhere it is printed.

    >>> from nst_course.engine.vgg import load_vgg19
    >>> for_network(load_vgg19(weights="random"), trained="A", untrained="B")  # doctest: +ELLIPSIS
    On this network (untrained...): B
    """
    text = trained if net.weights.pretrained else untrained
    kind = "ImageNet-trained" if net.weights.pretrained else "untrained"
    heading = f"On this network ({kind}: {net.weights})"
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # IPython is optional outside notebooks
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(f"*{heading}:* {text}"))
    else:
        print(f"{heading}: {text}")
