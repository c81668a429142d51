"""Lesson 02's checks: the Gram matrix and the layer style loss E_l of eq. (4)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from ...engine.losses import gram_matrix as _gram_matrix
from ...engine.losses import layer_style_loss as _layer_style_loss
from .harness import Hint, as_tensor, call, check, close, features, gradient, guess, one_number

__all__ = ["check_gram_matrix", "check_style_loss"]


def _gram_shape_hint(shape: tuple[int, ...], f: torch.Tensor) -> str:
    b, c, h, w = f.shape
    want = (b, c, c)
    if shape == (b, h * w, h * w):
        return (
            f"the result is (B, H*W, H*W) = {shape}: you multiplied F^T F (positions x positions); "
            "the Gram matrix is F F^T, channels x channels"
        )
    if (shape == (c, c) and b == 1) or shape == (b * c, b * c):
        return f"the result has shape {shape}; keep the batch dimension: (B, C, C) = {want} (a batched matrix product)"
    if shape in ((c, c), (b, b)) and b != 1:
        return f"the result has shape {shape}: you transposed the wrong axes; keep the batch axis first, (B, C, C)"
    if shape in ((b, c, h, w), (b, c, h * w)):
        return f"the result has the features' shape {shape}: multiply F (B, C, H*W) by its transpose"
    return f"the result has shape {shape}; it should be (B, C, C) = {want}"


@check("gram_matrix", passed="matches F F^T / (H*W), value and gradient, for batches of 1 and 2, non-square maps")
def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check a learner's ``gram_matrix(features)``: (B, C, H, W) -> (B, C, C), divided by H*W.

    The reference is ``nst_course.gram_matrix(features)``; values and gradients
    are compared. Prints ✓ or a hint; returns whether it passed.

    >>> def gram(f):
    ...     flat = f.flatten(2)
    ...     return flat @ flat.transpose(1, 2)
    >>> check_gram_matrix(gram)
    ✗ gram_matrix: you forgot to divide by M = H*W, the number of positions
    False
    """
    for f in features(2):
        b, c, h, w = f.shape
        out = as_tensor(call(fn, f, names=("features",)))
        want = _gram_matrix(f)
        if out.shape != want.shape:
            raise Hint(_gram_shape_hint(tuple(out.shape), f))
        if close(out, want):
            gradient(fn, _gram_matrix, f)
            continue
        raw = _gram_matrix(f, normalize=False)
        hint = guess(
            out,
            {
                "you forgot to divide by M = H*W, the number of positions": raw,
                "you divided by C*H*W; divide by M = H*W only (the number of positions)": raw / (c * h * w),
                "you divided by H (or W) only; divide by M = H*W": raw / h,
                "you divided by W (or H) only; divide by M = H*W": raw / w,
                "you divided by M^2; divide once by M = H*W": raw / (h * w) ** 2,
                "each image's Gram matrix holds the whole batch's (the batch was summed in): "
                "compute one Gram per image": want.sum(0, keepdim=True).expand_as(want),
            },
        )
        if hint is None and not torch.allclose(out.double(), out.double().transpose(-1, -2), rtol=1e-4):
            hint = "the result is not symmetric, so it is not F F^T: did you transpose the wrong axes?"
        elif hint is None and close(out, f.flatten(2).pow(2).sum(-1).diag_embed() / (h * w)):
            hint = "only the diagonal is right: multiply whole matrices (F @ F^T), not element by element"
        elif hint is None and b > 1 and close(out[:1], want[:1]):
            hint = "the first image of the batch is right, the second is not: compute one Gram per image"
        raise Hint(
            hint
            or f"on features of shape {tuple(f.shape)} the values differ from F F^T / (H*W) "
            f"(largest difference {float((out.double() - want).abs().max()):.3g})"
        )


def _right_on_one_image(
    fn: Callable[..., torch.Tensor], reference: Callable[..., torch.Tensor], f: torch.Tensor
) -> bool:
    """Whether ``fn`` gives E_l on a batch of one (a batch's mistake then lies in how the batch is counted)."""
    a = _gram_matrix(torch.randn(f.shape, generator=torch.Generator().manual_seed(300), dtype=f.dtype))
    try:
        return close(one_number(call(fn, f, a, names=("features", "target_gram")), ""), reference(f, a))
    except Hint:
        return False


@check("layer_style_loss", passed="matches 1/(4 N^2) sum((G - A)^2), value and gradient, on batches of 1 and 2")
def check_style_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check a learner's ``layer_style_loss(features, target_gram)``: the paper's E_l, eq. (4).

    ``target_gram`` is ``gram_matrix(style_features)``, already divided by M.
    For such Gram matrices eq. (4) reads ``E_l = 1/(4 N^2) * sum((G - A)^2)``:
    the M^2 of the paper's ``1/(4 N^2 M^2)`` is in the Grams already. The
    reference is ``nst_course.layer_style_loss(F, A, normalization="paper")``;
    values and gradients are compared. Prints ✓ or a hint; returns whether it passed.

    >>> def twice(f, a):  # the paper's factor on Grams that are already divided by M
    ...     m = f.shape[2] * f.shape[3]
    ...     return ((_gram_matrix(f) - a) ** 2).sum() / (4 * f.shape[1] ** 2 * m**2)
    >>> check_style_loss(twice)  # doctest: +ELLIPSIS
    ✗ layer_style_loss: you divided by M^2 ... is already divided by M, so E_l = 1/(4 N^2) * sum((G - A)^2)
    False
    """
    reference = functools.partial(_layer_style_loss, normalization="paper")
    tensors = features(3)
    for seed, f in enumerate([tensors[1], tensors[0], tensors[2]]):  # batch 2 first: it tells mean from sum
        style = torch.randn(f.shape, generator=torch.Generator().manual_seed(200 + seed), dtype=f.dtype)
        a = _gram_matrix(style)
        out = call(fn, f, a, names=("features", "target_gram"))
        got = one_number(out, "sum over i and j")
        want = reference(f, a)
        if close(got, want):
            gradient(fn, reference, f, a)
            continue
        b, n, h, w = f.shape
        m = h * w
        g = _gram_matrix(f)
        squared = (g - a).pow(2).sum()
        raw_squared = (_gram_matrix(f, normalize=False) - a).pow(2).sum()
        already = "your Gram matrix is already divided by M, so E_l = 1/(4 N^2) * sum((G - A)^2)"
        guesses = {
            f"you divided by M^2 (M = H*W = {m}) although {already}": want / m**2,
            f"your E_l is M = H*W = {m} times too small: you divided by M once more, although {already}": want / m,
            f"your E_l is M = H*W = {m} times too large: no factor M belongs in it, since {already}": want * m,
            "you forgot the 1/4 of eq. (4)": 4 * want,
            "you divided by 4 N, not 4 N^2 (N = channels)": want * n,
        }
        if b > 1 and close(got, b * want) and _right_on_one_image(fn, reference, tensors[0]):
            raise Hint(
                f"on a batch of {b} your loss is {b} times too large (on one image it is right): the batch was "
                "counted twice; E_l sums over every image once"
            )
        guesses.update(
            {
                "you divided by 4 M^2 instead of 4 N^2: N is the number of channels, M the positions": squared
                / (4 * m**2),
                "you took the mean over the Gram entries; eq. (4) sums them and divides by 4 N^2": (g - a)
                .pow(2)
                .mean(),
                "you took the mean and divided by 4; eq. (4) sums over the whole batch and divides by 4 N^2": (g - a)
                .pow(2)
                .mean()
                / 4,
                "you compared a Gram matrix not divided by M with the target, which is": raw_squared / (4 * n**2),
                "you compared the features' Gram with itself or used the target's features: "
                "E_l compares G (of `features`) with A (`target_gram`)": torch.zeros(()),
                "you used only the first image of the batch; sum over the batch too": (g[:1] - a[:1]).pow(2).sum()
                / (4 * n**2),
            }
        )
        ratio = float(got) / float(want) if float(want) else math.nan
        raise Hint(
            guess(got, guesses)
            or f"on features of shape {tuple(f.shape)} you gave {float(got):.6g}, expected {float(want):.6g} "
            f"(ratio {ratio:.3g}); E_l = 1/(4 N^2) * sum((G - A)^2) for Grams divided by M"
        )
