"""Exercise checks: a learner's function compared with the package's, with a hint when it differs.

The lessons ask the learner to write the method piece by piece:

==================================  ======  ==============================================
check                               lesson  compared with
==================================  ======  ==============================================
:func:`check_content_loss`          01      ``content_loss(F, P, normalization="paper")``
:func:`check_gram_matrix`           02      ``gram_matrix(F)`` (divided by M = H*W)
:func:`check_style_loss`            02      ``layer_style_loss(F, A, normalization="paper")``
:func:`check_objective`             03      ``Objective(..., normalization="paper")``
:func:`check_loop`                  03      :func:`nst_course.optimize` on a small problem
:func:`check_mean_covariance_loss`  05      :func:`nst_course.course.analysis.mean_covariance_loss`
:func:`check_tv_loss`               05      :func:`nst_course.tv_loss`
:func:`check_channel_objective`     06      minus the channel's mean activation (:mod:`nst_course.engine.featurevis`)
==================================  ======  ==============================================

Each check runs the learner's function on several inputs (batch of 1 and 2,
non-square feature maps), compares values and, for losses, gradients, and
prints one line: ✓, or a hint that names the likely mistake. Every check is
built on :mod:`nst_course.course.checks.harness`, which turns whatever the learner's
function is, returns or raises into such a line: checks never raise, so a
notebook with an unfinished exercise still runs to the end. A new check
imports :func:`~nst_course.course.checks.harness.check` and writes only its comparisons.

:func:`use_or_reference` lets a lesson run with the learner's function while
it is unfinished: the first call that raises ``NotImplementedError`` prints a
note and the package's reference takes over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from ...engine.losses import content_loss as _content_loss
from ...engine.losses import gram_matrix as _gram_matrix
from ...engine.losses import layer_style_loss as _layer_style_loss
from .beyond import check_mean_covariance_loss, check_tv_loss
from .channel import check_channel_objective
from .content import check_content_loss
from .loop import check_loop, reference_loop
from .objective import check_objective, reference_objective
from .style import check_gram_matrix, check_style_loss

__all__ = [
    "REFERENCES",
    "check_channel_objective",
    "check_content_loss",
    "check_gram_matrix",
    "check_loop",
    "check_mean_covariance_loss",
    "check_objective",
    "check_style_loss",
    "check_tv_loss",
    "reference_loop",
    "reference_objective",
    "use_or_reference",
]


def _paper_content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _content_loss(features, target, normalization="paper")


def _paper_style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    return _layer_style_loss(features, target_gram, normalization="paper")


#: What :func:`use_or_reference` falls back to, by the name of the learner's function.
REFERENCES: dict[str, Callable[..., Any]] = {
    "content_loss": _paper_content_loss,
    "gram_matrix": _gram_matrix,
    "layer_style_loss": _paper_style_loss,
    "make_objective": reference_objective,
    "loop": reference_loop,
}


def use_or_reference(fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
    """``fn``, until it raises ``NotImplementedError``: then a note, and the package's reference for good.

    ``name`` (default ``fn.__name__``) picks the reference in :data:`REFERENCES`.
    A lesson wraps each learner function it runs with, so that a notebook whose
    exercises are still open runs to the end and says which pieces were not yet
    the learner's.

    >>> def gram_matrix(features):
    ...     raise NotImplementedError
    >>> mine = use_or_reference(gram_matrix)
    >>> mine(torch.ones(1, 1, 1, 2))
    note: your gram_matrix is not written yet, so the package's is used in its place
    tensor([[[1.]]])
    >>> mine(torch.ones(1, 1, 1, 2))  # the note is printed once
    tensor([[[1.]]])
    """
    key = name or fn.__name__
    if key not in REFERENCES:
        raise KeyError(f"no reference for {key!r}; choose one of {', '.join(REFERENCES)}")
    reference = REFERENCES[key]
    state = {"unfinished": False}

    @functools.wraps(fn)
    def chosen(*args: Any, **kwargs: Any) -> Any:
        if not state["unfinished"]:
            try:
                return fn(*args, **kwargs)
            except NotImplementedError:
                state["unfinished"] = True
                print(f"note: your {key} is not written yet, so the package's is used in its place")
        return reference(*args, **kwargs)

    chosen.is_reference = lambda: state["unfinished"]  # type: ignore[attr-defined]
    return chosen
