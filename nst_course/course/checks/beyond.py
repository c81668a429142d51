"""Lesson 05's checks: a mean + covariance style loss, and the total-variation loss.

Each runs the learner's function on small tensors (batch 1 and 2, non-square,
target and image of different sizes) through the same harness as the other checks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...engine.losses import gram_matrix, tv_loss
from ..analysis import channel_means, covariance_matrix, mean_covariance_loss
from .harness import Hint, call, check, close, gradient, guess, one_number

__all__ = ["check_mean_covariance_loss", "check_tv_loss"]


def _pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(features, target) pairs: same channels, other sizes, means far from zero."""
    g = torch.Generator().manual_seed(5)
    return [
        (torch.randn(1, 3, 4, 5, generator=g, dtype=torch.float64), torch.rand(1, 3, 6, 3, generator=g) * 2),
        (torch.rand(2, 4, 3, 7, generator=g, dtype=torch.float64) + 0.5, torch.randn(2, 4, 5, 5, generator=g) - 1),
    ]


def _batch_guesses(want: torch.Tensor, batch: int, what: str, *, averaged: bool = True) -> dict[str, torch.Tensor]:
    """Wrong answers that show only on a batch of more than one (one image came first, and passed)."""
    if batch == 1:
        return {}
    guesses = {
        f"on a batch of {batch} your loss is {batch} times too large: the batch was counted twice ({what})": batch
        * want
    }
    if averaged:
        guesses[f"you averaged over the batch; {what}"] = want / batch
    return guesses


@check(
    "mean_covariance_loss",
    passed="matches sum((m - m_t)^2) + sum((S - S_t)^2) for batches of 1 and 2 and unequal sizes",
)
def check_mean_covariance_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``mean_covariance_loss(features, target)``: sum (m - m_t)^2 + sum (S - S_t)^2.

    ``m`` are the channel means over positions, ``S`` the covariance matrices
    divided by H*W (of each image's own size). The reference is
    :func:`nst_course.course.analysis.mean_covariance_loss`. Prints ✓ or a hint.

    >>> def gram_instead(f, t):
    ...     mean = (f.mean(dim=(2, 3)) - t.mean(dim=(2, 3))).pow(2).sum()
    ...     gram = lambda x: x.flatten(2) @ x.flatten(2).transpose(1, 2) / x[0, 0].numel()
    ...     return mean + (gram(f) - gram(t)).pow(2).sum()
    >>> check_mean_covariance_loss(gram_instead)
    ✗ mean_covariance_loss: you compared Gram matrices: take each channel's mean away before multiplying (centre F)
    False
    """
    for f, t in _pairs():
        t = t.to(f.dtype)
        got = one_number(call(fn, f, t, names=("features", "target")), "add the two sums of squared differences")
        want = mean_covariance_loss(f, t)
        if close(got, want):
            continue
        mean_term = (channel_means(f) - channel_means(t)).pow(2).sum()
        cov_f, cov_t = covariance_matrix(f), covariance_matrix(t)
        cov_term = (cov_f - cov_t).pow(2).sum()
        n_f, n_t = f[0, 0].numel(), t[0, 0].numel()
        unbiased = (cov_f * n_f / (n_f - 1) - cov_t * n_t / (n_t - 1)).pow(2).sum()
        raw = (cov_f * n_f - cov_t * n_t).pow(2).sum()
        guesses = {
            "you compared Gram matrices: take each channel's mean away before multiplying (centre F)": mean_term
            + (gram_matrix(f) - gram_matrix(t)).pow(2).sum(),
            "you centred the features but not the target: take each channel's mean away from the target too": (
                mean_term + (cov_f - gram_matrix(t)).pow(2).sum()
            ),
            "you centred the target but not the features: take each channel's mean away from the features too": (
                mean_term + (gram_matrix(f) - cov_t).pow(2).sum()
            ),
            "the covariance term is missing: add sum((S - S_t)^2)": mean_term,
            "the mean term is missing: add sum((m - m_t)^2), the channel means over positions": cov_term,
            "divide the covariance by H*W, the number of positions (as the package's Gram matrix), "
            "not by H*W - 1": mean_term + unbiased,
            "divide each covariance by its own number of positions H*W (the two images differ in size)": mean_term
            + raw,
            **_batch_guesses(want, f.shape[0], "the loss sums over every image once"),
            "use the squared differences' sum, not their mean": (channel_means(f) - channel_means(t)).pow(2).mean()
            + (cov_f - cov_t).pow(2).mean(),
            "the loss squares the differences; do not take a square root": mean_term.sqrt() + cov_term.sqrt(),
        }
        raise Hint(
            guess(got, guesses)
            or f"for features {tuple(f.shape)} and target {tuple(t.shape)} you gave {float(got):.6g}, "
            f"expected {float(want):.6g}"
        )
    f, t = _pairs()[0]
    gradient(fn, mean_covariance_loss, f, t.to(f.dtype))


@check("tv_loss", passed="matches mean(dx^2) + mean(dy^2) for batches of 1 and 2 and non-square images")
def check_tv_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``tv_loss(image)``: mean squared difference of horizontal neighbours plus that of vertical ones.

    The reference is :func:`nst_course.tv_loss`. Prints ✓ or a hint.

    >>> check_tv_loss(lambda x: (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean())
    ✗ tv_loss: only horizontal neighbours count here: add the vertical differences (along H)
    False
    """
    g = torch.Generator().manual_seed(6)
    images = [
        torch.rand(1, 3, 4, 5, generator=g, dtype=torch.float64),
        torch.rand(2, 3, 6, 3, generator=g, dtype=torch.float64),
    ]
    for x in images:
        what = "a mean over all horizontal differences plus one over all vertical ones"
        got = one_number(call(fn, x, names=("image",)), what)
        want = tv_loss(x)
        if close(got, want):
            continue
        dx = x[..., :, 1:] - x[..., :, :-1]
        dy = x[..., 1:, :] - x[..., :-1, :]
        sx, sy = dx.pow(2), dy.pow(2)
        wrapped = (x - x.roll(1, dims=-1)).pow(2).mean() + (x - x.roll(1, dims=-2)).pow(2).mean()
        guesses = {
            "only horizontal neighbours count here: add the vertical differences (along H)": sx.mean(),
            "only vertical neighbours count here: add the horizontal differences (along W)": sy.mean(),
            "use means, not sums, of the squared differences (so the image's size does not matter)": sx.sum()
            + sy.sum(),
            "square the differences; the absolute value gives another (L1) total variation": dx.abs().mean()
            + dy.abs().mean(),
            "take the two means separately and add them (one mean over both weighs them by their counts)": torch.cat(
                [sx.flatten(), sy.flatten()]
            ).mean(),
            "add the two means; do not average them": (sx.mean() + sy.mean()) / 2,
            "torch.roll wraps around: the last column is no neighbour of the first; slice instead": wrapped,
            **_batch_guesses(want, x.shape[0], "each mean runs over the whole batch once", averaged=False),
        }
        raise Hint(
            guess(got, guesses)
            or f"for an image of shape {tuple(x.shape)} you gave {float(got):.6g}, expected {float(want):.6g}"
        )
    gradient(fn, tv_loss, images[0])
