"""The one sequence every exercise check follows: call, validate, compare, report.

A check is a function of the learner's function, decorated with :func:`check`.
Inside it, :func:`call` runs the learner's function (whatever it is, whatever it
does), :func:`as_tensor` and :func:`one_number` accept only what a loss may be,
and anything wrong ends the check by raising :class:`Hint`. The decorator prints
the one line a learner sees, ✓ or ✗ with the hint, and returns whether it
passed; whatever else goes wrong inside the check also becomes one ✗ line,
never a traceback. A new check writes only its comparisons::

    @check("my_loss", passed="matches ...")
    def check_my_loss(fn):
        f = torch.rand(1, 3, 4, 5, dtype=torch.float64)
        got = one_number(call(fn, f, names=("features",)), "sum the squares")
        ...

>>> @check("double", passed="matches 2 * x")
... def check_double(fn):
...     x = torch.ones(2, dtype=torch.float64)
...     if not close(as_tensor(call(fn, x, names=("x",))), 2 * x):
...         raise Hint("multiply x by 2")
>>> check_double(lambda x: 2 * x)
✓ double: matches 2 * x
True
>>> check_double(lambda x: (2 * x).tolist())
✗ double: your function returned a list; return a torch tensor, so that gradients can flow (a list is not one)
False
>>> check_double(lambda x, y: 2 * x)
✗ double: your function takes (x, y), but the check calls it with 1 argument: (x)
False
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

__all__ = [
    "NOT_WRITTEN",
    "NO_GRADIENT",
    "Hint",
    "as_tensor",
    "call",
    "check",
    "close",
    "gradient",
    "guess",
    "one_number",
    "report",
]

NOT_WRITTEN = "not written yet: replace the `raise NotImplementedError` with your code, then run the check again"
NO_GRADIENT = (
    "no gradient flows back through your function: keep every step a torch operation on the input "
    "(no .item(), float(), .numpy() or .detach())"
)
UNFORESEEN = "the check could not use your answer ({error}): compare what it returns with what the exercise asks for"


class Hint(Exception):
    """Ends a check with ✗ and this text: what the learner should look at."""


def report(name: str, hint: str | None, passed: str = "") -> bool:
    """Print the one line a learner sees and return whether the check passed."""
    if hint is None:
        print(f"✓ {name}: {passed}")
        return True
    print(f"✗ {name}: {hint}")
    return False


def check(name: str, *, passed: str | Callable[..., str]) -> Callable[[Callable[..., Any]], Callable[..., bool]]:
    """Make a check of ``body(fn, ...)``: a ✗ line for a :class:`Hint` or any other error, else ✓ ``passed``.

    ``passed`` may be a function of the check's arguments that gives the text.
    """

    def decorate(body: Callable[..., Any]) -> Callable[..., bool]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> bool:
            try:
                body(*args, **kwargs)
            except Hint as hint:
                return report(name, str(hint))
            except Exception as exc:  # an answer no rule foresaw: still one line, never a traceback
                return report(name, UNFORESEEN.format(error=f"{type(exc).__name__}: {exc}"))
            return report(name, None, passed(*args, **kwargs) if callable(passed) else passed)

        return run

    return decorate


def _parameters(fn: Callable[..., Any]) -> str | None:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return None


def call(fn: Any, *args: Any, names: Sequence[str], who: str = "your function") -> Any:
    """Run a learner's function on ``args`` (called ``names`` in the exercise); its result, or a :class:`Hint`.

    Refuses what is not a function, a function that takes other arguments, one that
    raises (``NotImplementedError``: not written yet), changes its input tensors,
    or returns None.
    """
    if not callable(fn):
        raise Hint(f"{who} is a {type(fn).__name__}, not a function: define it with def and pass the function itself")
    shown = f"({', '.join(names)})"
    count = f"{len(args)} argument{'s' if len(args) != 1 else ''}"
    signature = _parameters(fn)
    if signature is not None:
        try:
            inspect.signature(fn).bind(*args)
        except TypeError:
            raise Hint(f"{who} takes {signature}, but the check calls it with {count}: {shown}") from None
    copies = [a.clone() if isinstance(a, torch.Tensor) else None for a in args]
    try:
        out = fn(*args)
    except NotImplementedError:
        raise Hint(NOT_WRITTEN) from None
    except Exception as exc:  # any mistake in learner code becomes a hint, not a crash
        raise Hint(f"{who} raised {type(exc).__name__}: {exc}") from None
    for a, c in zip(args, copies, strict=True):
        if c is not None and not torch.equal(a, c):
            raise Hint(f"{who} changed its input tensors in place; compute a new tensor instead")
    if out is None:
        raise Hint(f"{who} returned None: did you forget the `return`?")
    return out


_NOT_A_TENSOR = {
    float: " (.item() and float() turn a tensor into a plain number, which carries no gradient)",
    int: " (a plain number carries no gradient)",
    bool: " (a plain True or False carries no gradient)",
    list: " (a list is not one)",
    tuple: " (a tuple of numbers is not one)",
    str: " (a str is text, not a number)",
    dict: " (a dict is not one)",
}


def as_tensor(out: Any, who: str = "your function", gave: str = "returned") -> torch.Tensor:
    """``out`` if it is a floating-point torch tensor; otherwise a :class:`Hint` that names what it is.

    The hint reads "{who} {gave} a list; ...", e.g. "your function returned a list".
    """
    if not isinstance(out, torch.Tensor):
        kind = type(out).__name__
        why = _NOT_A_TENSOR.get(type(out), "")
        if type(out).__module__ == "numpy":
            why = " (.numpy() leaves torch, and the gradient with it: keep torch operations)"
        raise Hint(f"{who} {gave} a {kind}; return a torch tensor, so that gradients can flow{why}")
    if not out.is_floating_point():
        raise Hint(
            f"{who} {gave} a tensor of dtype {out.dtype}; keep the input's floating-point dtype "
            "(no .long(), .int(), .bool() or rounding)"
        )
    return out


def one_number(out: Any, what: str, who: str = "your function") -> torch.Tensor:
    """``out`` as a 0-d tensor when it is a one-number floating-point tensor; else a :class:`Hint`."""
    out = as_tensor(out, who)
    if out.numel() != 1:
        raise Hint(f"the result has shape {tuple(out.shape)}; the loss is ONE number: {what}")
    return out.reshape(())


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4) -> bool:
    """Same shape and values (``rtol``), compared in float64."""
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=rtol, atol=1e-8)


def guess(got: torch.Tensor, guesses: Mapping[str, torch.Tensor]) -> str | None:
    """The hint of the first wrong answer whose value ``got`` has, or None."""
    for hint, value in guesses.items():
        if close(got, value.reshape(got.shape) if value.numel() == got.numel() else value):
            return hint
    return None


def gradient(fn: Callable[..., Any], reference: Callable[..., Any], *args: torch.Tensor) -> None:
    """A :class:`Hint` unless d(out . R)/d(first argument) of ``fn`` matches ``reference``'s (fixed random R)."""

    def grad(function: Callable[..., Any]) -> torch.Tensor | None:
        leaf = args[0].clone().requires_grad_(True)
        out = function(leaf, *args[1:])
        weights = torch.rand(out.shape, generator=torch.Generator().manual_seed(7), dtype=out.dtype)
        (out * weights).sum().backward()
        return leaf.grad

    same_gradient(
        grad,
        fn,
        reference,
        "the value is right, but the gradient is not: is part of the computation detached, "
        "or computed from a copy of the input?",
    )


def same_gradient(
    grad: Callable[[Callable[..., Any]], torch.Tensor | None],
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    hint: str,
) -> None:
    """A :class:`Hint` unless ``grad(fn)``, the gradient a check takes through the learner's
    function, matches ``grad(reference)``; ``hint`` when it differs, NO_GRADIENT when none flows."""
    try:
        mine = grad(fn)
    except Exception:  # .item(), float(), .detach(): backward has nothing to go through
        raise Hint(NO_GRADIENT) from None
    if mine is None:
        raise Hint(NO_GRADIENT)
    theirs = grad(reference)
    assert theirs is not None, "the reference function passes a gradient"
    if not close(mine, theirs, rtol=1e-3):
        raise Hint(hint)


def features(seed: int) -> list[torch.Tensor]:
    """Small test features: batch of 1 and 2, non-square, not symmetric in any way."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(1, 3, 4, 5, generator=g, dtype=torch.float64),
        torch.randn(2, 5, 3, 7, generator=g, dtype=torch.float64) + 0.5,
        torch.rand(1, 6, 2, 2, generator=g, dtype=torch.float64) * 3,
    ]
