"""Lesson 01's check: the content loss of eq. (1)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from ...engine.losses import content_loss as _content_loss
from .harness import Hint, call, check, close, features, gradient, guess, one_number

__all__ = ["check_content_loss"]


@check("content_loss", passed="matches 1/2 * sum((F - P)^2), eq. (1), value and gradient, on batches of 1 and 2")
def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check a learner's ``content_loss(features, target)`` against the paper's eq. (1), value and gradient.

    The reference is ``nst_course.content_loss(features, target, normalization="paper")``,
    that is ``1/2 * sum((F - P)^2)``. Prints ✓ or a hint; returns whether it passed.

    >>> check_content_loss(lambda f, p: ((f - p) ** 2).sum())
    ✗ content_loss: you forgot the 1/2 of eq. (1)
    False
    >>> check_content_loss(lambda f, p: 0.5 * ((f - p) ** 2).sum())
    ✓ content_loss: matches 1/2 * sum((F - P)^2), eq. (1), value and gradient, on batches of 1 and 2
    True
    """
    reference = functools.partial(_content_loss, normalization="paper")
    for seed, f in enumerate(features(1)):
        p = torch.randn(f.shape, generator=torch.Generator().manual_seed(100 + seed), dtype=f.dtype)
        out = call(fn, f, p, names=("features", "target"))
        got = one_number(out, "sum the squared differences")
        want = reference(f, p)
        if not close(got, want):
            diff = f - p
            batch = f.shape[0]
            guesses = {}
            if batch > 1:  # a batch of 1 came first: a factor of the batch size shows only here
                guesses[
                    f"on a batch of {batch} your loss is {batch} times too large: the batch was counted twice "
                    "(eq. (1) sums over every image once)"
                ] = batch * want
                guesses["you averaged over the batch; eq. (1) sums over it"] = want / batch
            guesses.update(
                {
                    "you forgot the 1/2 of eq. (1)": 2 * want,
                    "the 1/2 was applied twice (or you divided by 4)": want / 2,
                    "you took the mean; eq. (1) sums the squared differences (and halves the sum)": diff.pow(2).mean(),
                    "you took the mean and halved it; eq. (1) sums over all positions and channels": 0.5
                    * diff.pow(2).mean(),
                    "you returned the length of F - P (a square root); eq. (1) uses the squared difference": diff.pow(2)
                    .sum()
                    .sqrt(),
                    "you summed absolute differences; eq. (1) squares them": 0.5 * diff.abs().sum(),
                    "you summed F - P without squaring it": 0.5 * diff.sum(),
                    "you divided by the target's squared norm, like the package's 'relative' default; "
                    "the exercise asks for the paper's eq. (1)": diff.pow(2).sum() / p.pow(2).sum(),
                    "you used only the first image of the batch; eq. (1) sums over the whole batch too": 0.5
                    * diff[:1].pow(2).sum(),
                }
            )
            ratio = float(got) / float(want) if float(want) else math.nan
            raise Hint(
                guess(got, guesses)
                or f"on a (B, C, H, W) = {tuple(f.shape)} example you gave {float(got):.6g}, expected "
                f"{float(want):.6g} (ratio {ratio:.3g}); eq. (1) is 1/2 * sum((F - P)^2)"
            )
        gradient(fn, reference, f, p)
