"""Exercise checks: a learner's function compared with the package's, with a hint when it differs.

:func:`check_content_loss` (lesson 01) and :func:`check_gram_matrix` (lesson 02)
run the learner's function on a few small tensors. They print one line that
starts with ✓ when it agrees, and otherwise a hint about what is wrong (a
forgotten 1/2, a missing division, a transposed product). They never raise, so a
notebook with an unfinished exercise still runs to the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .losses import content_loss as _content_loss
from .losses import gram_matrix as _gram_matrix

__all__ = ["check_content_loss", "check_gram_matrix"]


def _tensors(seed: int) -> list[torch.Tensor]:
    """Small test features: batch of 1 and 2, non-square, not symmetric in any way."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(1, 3, 4, 5, generator=g, dtype=torch.float64),
        torch.randn(2, 4, 3, 7, generator=g, dtype=torch.float64) + 0.5,
        torch.rand(1, 6, 2, 2, generator=g, dtype=torch.float64) * 3,
    ]


def _call(fn: Callable, *args: torch.Tensor) -> tuple[object, str | None]:
    """Run the learner's function; the result, or a hint when it did not give one."""
    copies = [a.clone() for a in args]
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, "not written yet: replace the `raise NotImplementedError` with your code, then run the check again"
    except Exception as exc:  # any mistake in learner code becomes a hint, not a crash
        return None, f"your function raised {type(exc).__name__}: {exc}"
    if any(not torch.equal(a, c) for a, c in zip(args, copies, strict=True)):
        return None, "your function changed its input tensors in place; compute a new tensor instead"
    if out is None:
        return None, "your function returned None: did you forget the `return`?"
    if not isinstance(out, torch.Tensor):
        return (
            None,
            f"your function returned a {type(out).__name__}; return a torch tensor, so that gradients can flow",
        )
    return out, None


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-8)


def _report(name: str, hint: str | None, passed: str) -> bool:
    if hint is None:
        print(f"✓ {name}: {passed}")
        return True
    print(f"✗ {name}: {hint}")
    return False


def _gradient_hint(fn: Callable, *args: torch.Tensor) -> str | None:
    leaf = args[0].clone().requires_grad_(True)
    try:
        out = fn(leaf, *args[1:])
        out.sum().backward()
    except Exception:  # reported as a hint below
        return (
            "the value is right, but no gradient flows back through it: avoid .item(), .numpy(), "
            "float() and .detach() inside the function"
        )
    if leaf.grad is None:
        return "the value is right, but no gradient reaches the features: keep every step in torch"
    return None


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Check a learner's ``content_loss(features, target)`` against the paper's eq. (1).

    The reference is ``nst_course.content_loss(features, target, normalization="paper")``,
    that is ``1/2 * sum((F - P)^2)``. Prints ✓ or a hint; returns whether it passed.

    >>> check_content_loss(lambda f, p: ((f - p) ** 2).sum())
    ✗ content_loss: you forgot the 1/2 of eq. (1)
    False
    >>> check_content_loss(lambda f, p: 0.5 * ((f - p) ** 2).sum())
    ✓ content_loss: matches 1/2 * sum((F - P)^2), eq. (1) of the paper, on 3 test tensors
    True
    """
    name = "content_loss"
    for seed, f in enumerate(_tensors(1)):
        p = torch.randn(f.shape, generator=torch.Generator().manual_seed(100 + seed), dtype=f.dtype)
        out, hint = _call(fn, f, p)
        if hint is not None:
            return _report(name, hint, "")
        want = _content_loss(f, p, normalization="paper")
        if out.numel() != 1:
            return _report(
                name,
                f"the result has shape {tuple(out.shape)}; the loss is ONE number: sum the squared differences",
                "",
            )
        got = out.reshape(())
        if _close(got, want):
            continue
        diff = f - p
        guesses = {
            "you forgot the 1/2 of eq. (1)": 2 * want,
            "the 1/2 was applied twice (or you divided by 4)": want / 2,
            "you took the mean; eq. (1) sums the squared differences (and halves the sum)": diff.pow(2).mean(),
            "you took the mean and halved it; eq. (1) sums over all positions and channels": 0.5 * diff.pow(2).mean(),
            "you returned the length of F - P (a square root); eq. (1) uses the squared difference": diff.pow(2)
            .sum()
            .sqrt(),
            "you summed absolute differences; eq. (1) squares them": 0.5 * diff.abs().sum(),
            "you summed F - P without squaring it": 0.5 * diff.sum(),
            "you divided by the target's size, like the package's 'relative' default; "
            "the exercise asks for the paper's eq. (1)": diff.pow(2).sum() / p.pow(2).sum(),
        }
        for guess_hint, value in guesses.items():
            if _close(got, value.reshape(())):
                return _report(name, guess_hint, "")
        ratio = float(got) / float(want) if float(want) else math.nan
        return _report(
            name,
            f"on a (B, C, H, W) = {tuple(f.shape)} example you gave {float(got):.6g}, expected {float(want):.6g} "
            f"(ratio {ratio:.3g}); eq. (1) is 1/2 * sum((F - P)^2)",
            "",
        )
    hint = _gradient_hint(fn, *_tensors(1)[:1], torch.zeros(1, 3, 4, 5, dtype=torch.float64))
    return _report(name, hint, "matches 1/2 * sum((F - P)^2), eq. (1) of the paper, on 3 test tensors")


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Check a learner's ``gram_matrix(features)``: (B, C, H, W) -> (B, C, C), divided by H*W.

    The reference is ``nst_course.gram_matrix(features)``. Prints ✓ or a hint;
    returns whether it passed.

    >>> def gram(f):
    ...     flat = f.flatten(2)
    ...     return flat @ flat.transpose(1, 2)
    >>> check_gram_matrix(gram)
    ✗ gram_matrix: you forgot to divide by H*W, the number of positions
    False
    """
    name = "gram_matrix"
    for f in _tensors(2):
        b, c, h, w = f.shape
        out, hint = _call(fn, f)
        if hint is not None:
            return _report(name, hint, "")
        want = _gram_matrix(f)
        raw = _gram_matrix(f, normalize=False)
        if out.shape != want.shape:
            shape = tuple(out.shape)
            if shape == (b, h * w, h * w):
                hint = (
                    f"the result is (B, H*W, H*W) = {shape}: you multiplied F^T F (positions x positions); "
                    "the Gram matrix is F F^T, channels x channels"
                )
            elif (shape == (c, c) and b == 1) or shape == (b * c, b * c):
                hint = (
                    f"the result has shape {shape}; keep the batch dimension: (B, C, C) = {tuple(want.shape)} "
                    "(reshape to (B, C, H*W), then a batched matrix product)"
                )
            elif shape == (b, c, h, w) or shape == (b, c, h * w):
                hint = f"the result has the features' shape {shape}: multiply F (B, C, H*W) by its transpose"
            else:
                hint = f"the result has shape {shape}; it should be (B, C, C) = {tuple(want.shape)}"
            return _report(name, hint, "")
        if _close(out, want):
            continue
        guesses = {
            "you forgot to divide by H*W, the number of positions": raw,
            "you divided by C*H*W; divide by H*W only (the number of positions)": raw / (c * h * w),
            "you divided by H (or W) only; divide by H*W": raw / h,
            "you divided by W (or H) only; divide by H*W": raw / w,
            "you divided by (H*W)^2; divide once by H*W": raw / (h * w) ** 2,
        }
        for guess_hint, value in guesses.items():
            if _close(out, value):
                return _report(name, guess_hint, "")
        if not torch.allclose(out.double(), out.double().transpose(-1, -2), rtol=1e-4, atol=1e-8):
            hint = "the result is not symmetric, so it is not F F^T: did you transpose the wrong axes?"
        elif _close(out, f.flatten(2).pow(2).sum(-1).diag_embed() / (h * w)):
            hint = "only the diagonal is right: multiply whole matrices (F @ F^T), not element by element"
        else:
            hint = (
                f"on features of shape {tuple(f.shape)} the values differ from F F^T / (H*W) "
                f"(largest difference {float((out.double() - want).abs().max()):.3g})"
            )
        return _report(name, hint, "")
    hint = _gradient_hint(fn, _tensors(2)[0])
    return _report(name, hint, "matches F F^T / (H*W) for batches of 1 and 2 and non-square feature maps")
