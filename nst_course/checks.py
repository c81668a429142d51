"""Exercise checks: a learner's function compared with the package's, with a hint when it differs.

Lessons 01 to 03 ask the learner to write the method piece by piece:

==========================  ======  ==============================================
check                       lesson  compared with
==========================  ======  ==============================================
:func:`check_content_loss`  01      ``content_loss(F, P, normalization="paper")``
:func:`check_gram_matrix`   02      ``gram_matrix(F)`` (divided by M = H*W)
:func:`check_style_loss`    02      ``layer_style_loss(F, A, normalization="paper")``
:func:`check_objective`     03      ``Objective(..., normalization="paper")``
:func:`check_loop`          03      :func:`nst_course.optimize` on a small problem
==========================  ======  ==============================================

Each check runs the learner's function on several inputs (batch of 1 and 2,
non-square feature maps), compares values and, for losses, gradients, and
prints one line: ✓, or a hint that names the likely mistake. Checks never
raise, so a notebook with an unfinished exercise still runs to the end.

:func:`use_or_reference` lets a lesson run with the learner's function while
it is unfinished: the first call that raises ``NotImplementedError`` prints a
note and the package's reference takes over.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .losses import content_loss as _content_loss
from .losses import gram_matrix as _gram_matrix
from .losses import layer_style_loss as _layer_style_loss
from .objective import Objective
from .optimize import LINE_SEARCH_TRIALS, first_step_lr, fold, optimize

__all__ = [
    "REFERENCES",
    "check_content_loss",
    "check_gram_matrix",
    "check_loop",
    "check_objective",
    "check_style_loss",
    "reference_loop",
    "reference_objective",
    "use_or_reference",
]

NOT_WRITTEN = "not written yet: replace the `raise NotImplementedError` with your code, then run the check again"
NO_GRADIENT = (
    "no gradient flows back through your function: keep every step a torch operation on the input "
    "(no .item(), float(), .numpy() or .detach())"
)


# ---------------------------------------------------------------- shared helpers


def _tensors(seed: int) -> list[torch.Tensor]:
    """Small test features: batch of 1 and 2, non-square, not symmetric in any way."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(1, 3, 4, 5, generator=g, dtype=torch.float64),
        torch.randn(2, 5, 3, 7, generator=g, dtype=torch.float64) + 0.5,
        torch.rand(1, 6, 2, 2, generator=g, dtype=torch.float64) * 3,
    ]


def _call(fn: Callable, *args: Any) -> tuple[Any, str | None]:
    """Run the learner's function; the result, or a hint when it did not give one."""
    copies = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, NOT_WRITTEN
    except Exception as exc:  # any mistake in learner code becomes a hint, not a crash
        return None, f"your function raised {type(exc).__name__}: {exc}"
    for a, c in zip(args, copies, strict=True):
        if isinstance(a, torch.Tensor) and not torch.equal(a, c):
            return None, "your function changed its input tensors in place; compute a new tensor instead"
    if out is None:
        return None, "your function returned None: did you forget the `return`?"
    return out, None


def _tensor_hint(out: Any) -> str | None:
    if isinstance(out, torch.Tensor):
        return None
    return f"your function returned a {type(out).__name__}; return a torch tensor, so that gradients can flow"


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=rtol, atol=1e-8)


def _report(name: str, hint: str | None, passed: str) -> bool:
    if hint is None:
        print(f"✓ {name}: {passed}")
        return True
    print(f"✗ {name}: {hint}")
    return False


def _guess(got: torch.Tensor, guesses: Mapping[str, torch.Tensor]) -> str | None:
    for hint, value in guesses.items():
        if _close(got, value.reshape(got.shape) if value.numel() == got.numel() else value):
            return hint
    return None


def _gradient_hint(fn: Callable, reference: Callable, *args: torch.Tensor) -> str | None:
    """Compare d(out . R)/d(first argument) of ``fn`` and ``reference`` for a fixed random R."""

    def grad(function: Callable) -> torch.Tensor | None:
        leaf = args[0].clone().requires_grad_(True)
        out = function(leaf, *args[1:])
        weights = torch.rand(out.shape, generator=torch.Generator().manual_seed(7), dtype=out.dtype)
        (out * weights).sum().backward()
        return leaf.grad

    try:
        mine = grad(fn)
    except Exception:  # .item(), float(), .detach(): backward has nothing to go through
        return NO_GRADIENT
    if mine is None:
        return NO_GRADIENT
    want = grad(reference)
    if not _close(mine, want, rtol=1e-3):
        return (
            "the value is right, but the gradient is not: is part of the computation detached, "
            "or computed from a copy of the input?"
        )
    return None


# ---------------------------------------------------------------- lesson 01: content loss


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
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
    name = "content_loss"
    reference = functools.partial(_content_loss, normalization="paper")
    for seed, f in enumerate(_tensors(1)):
        p = torch.randn(f.shape, generator=torch.Generator().manual_seed(100 + seed), dtype=f.dtype)
        out, hint = _call(fn, f, p)
        hint = hint or _tensor_hint(out)
        if hint is not None:
            return _report(name, hint, "")
        want = reference(f, p)
        if out.numel() != 1:
            return _report(
                name,
                f"the result has shape {tuple(out.shape)}; the loss is ONE number: sum the squared differences",
                "",
            )
        got = out.reshape(())
        if not _close(got, want):
            diff = f - p
            hint = _guess(
                got,
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
                    "you divided by the target's squared norm (its sum of squares), like the package's "
                    "'relative' default; "
                    "the exercise asks for the paper's eq. (1)": diff.pow(2).sum() / p.pow(2).sum(),
                    "you used only the first image of the batch; eq. (1) sums over the whole batch too": 0.5
                    * diff[:1].pow(2).sum(),
                },
            )
            ratio = float(got) / float(want) if float(want) else math.nan
            return _report(
                name,
                hint
                or f"on a (B, C, H, W) = {tuple(f.shape)} example you gave {float(got):.6g}, expected "
                f"{float(want):.6g} (ratio {ratio:.3g}); eq. (1) is 1/2 * sum((F - P)^2)",
                "",
            )
        hint = _gradient_hint(fn, reference, f, p)
        if hint is not None:
            return _report(name, hint, "")
    return _report(name, None, "matches 1/2 * sum((F - P)^2), eq. (1), value and gradient, on batches of 1 and 2")


# ---------------------------------------------------------------- lesson 02: Gram matrix and style loss


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


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
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
    name = "gram_matrix"
    for f in _tensors(2):
        b, c, h, w = f.shape
        out, hint = _call(fn, f)
        hint = hint or _tensor_hint(out)
        if hint is not None:
            return _report(name, hint, "")
        want = _gram_matrix(f)
        if out.shape != want.shape:
            return _report(name, _gram_shape_hint(tuple(out.shape), f), "")
        if not _close(out, want):
            raw = _gram_matrix(f, normalize=False)
            hint = _guess(
                out,
                {
                    "you forgot to divide by M = H*W, the number of positions": raw,
                    "you divided by C*H*W; divide by M = H*W only (the number of positions)": raw / (c * h * w),
                    "you divided by H (or W) only; divide by M = H*W": raw / h,
                    "you divided by W (or H) only; divide by M = H*W": raw / w,
                    "you divided by M^2; divide once by M = H*W": raw / (h * w) ** 2,
                },
            )
            if hint is None and not torch.allclose(out.double(), out.double().transpose(-1, -2), rtol=1e-4):
                hint = "the result is not symmetric, so it is not F F^T: did you transpose the wrong axes?"
            elif hint is None and _close(out, f.flatten(2).pow(2).sum(-1).diag_embed() / (h * w)):
                hint = "only the diagonal is right: multiply whole matrices (F @ F^T), not element by element"
            elif hint is None and b > 1 and _close(out[:1], want[:1]):
                hint = "the first image of the batch is right, the second is not: compute one Gram per image"
            hint = hint or (
                f"on features of shape {tuple(f.shape)} the values differ from F F^T / (H*W) "
                f"(largest difference {float((out.double() - want).abs().max()):.3g})"
            )
            return _report(name, hint, "")
        hint = _gradient_hint(fn, _gram_matrix, f)
        if hint is not None:
            return _report(name, hint, "")
    return _report(name, None, "matches F F^T / (H*W), value and gradient, for batches of 1 and 2, non-square maps")


def check_style_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
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
    name = "layer_style_loss"
    reference = functools.partial(_layer_style_loss, normalization="paper")
    tensors = _tensors(3)
    for seed, f in enumerate([tensors[1], tensors[0], tensors[2]]):  # batch 2 first: it tells mean from sum
        style = torch.randn(f.shape, generator=torch.Generator().manual_seed(200 + seed), dtype=f.dtype)
        a = _gram_matrix(style)
        out, hint = _call(fn, f, a)
        hint = hint or _tensor_hint(out)
        if hint is not None:
            return _report(name, hint, "")
        if out.numel() != 1:
            return _report(name, f"the result has shape {tuple(out.shape)}; E_l is ONE number: sum over i and j", "")
        got, want = out.reshape(()), reference(f, a)
        if not _close(got, want):
            n, h, w = f.shape[1:]
            m = h * w
            g = _gram_matrix(f)
            squared = (g - a).pow(2).sum()
            raw_squared = (_gram_matrix(f, normalize=False) - a).pow(2).sum()
            hint = _guess(
                got,
                {
                    f"you divided by M^2 (M = H*W = {m}) although your Gram matrix is already divided by M, "
                    "so E_l = 1/(4 N^2) * sum((G - A)^2)": want / m**2,
                    "you forgot the 1/4 of eq. (4)": 4 * want,
                    "you divided by 4 N, not 4 N^2 (N = channels)": want * n,
                    "you divided by 4 M^2 instead of 4 N^2: N is the number of channels, M the positions": squared
                    / (4 * m**2),
                    "you took the mean over the Gram entries; eq. (4) sums them and divides by 4 N^2": (g - a)
                    .pow(2)
                    .mean(),
                    "you took the mean and divided by 4; eq. (4) sums over the whole batch and divides by 4 N^2": (
                        g - a
                    )
                    .pow(2)
                    .mean()
                    / 4,
                    "you compared a Gram matrix not divided by M with the target, which is": raw_squared / (4 * n**2),
                    "you compared the features' Gram with itself or used the target's features: "
                    "E_l compares G (of `features`) with A (`target_gram`)": torch.zeros(()),
                    "you used only the first image of the batch; sum over the batch too": (g[:1] - a[:1]).pow(2).sum()
                    / (4 * n**2),
                },
            )
            ratio = float(got) / float(want) if float(want) else math.nan
            return _report(
                name,
                hint
                or f"on features of shape {tuple(f.shape)} you gave {float(got):.6g}, expected {float(want):.6g} "
                f"(ratio {ratio:.3g}); E_l = 1/(4 N^2) * sum((G - A)^2) for Grams divided by M",
                "",
            )
        hint = _gradient_hint(fn, reference, f, a)
        if hint is not None:
            return _report(name, hint, "")
    return _report(name, None, "matches 1/(4 N^2) sum((G - A)^2), value and gradient, on batches of 1 and 2")


# ---------------------------------------------------------------- lesson 03: the objective


def reference_objective(
    content_targets: Mapping[str, torch.Tensor],
    style_targets: Mapping[str, torch.Tensor],
    alpha: float,
    beta: float,
) -> Objective:
    """The package's objective with the paper's normalisation: what a learner's ``make_objective`` should give."""
    return Objective(
        content_targets=dict(content_targets),
        style_targets=dict(style_targets),
        content_weight=alpha,
        style_weight=beta,
        normalization="paper",
    )


def _objective_problem(batch: int, seed: int) -> tuple[dict, dict, dict, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = {"relu4_2": (batch, 4, 3, 5), "relu1_1": (batch, 3, 6, 7), "relu2_1": (batch, 5, 4, 3)}

    def draw(name: str) -> torch.Tensor:
        return torch.rand(shapes[name], generator=g, dtype=torch.float64)

    content = {"relu4_2": draw("relu4_2")}
    style = {name: _gram_matrix(draw(name)) for name in ("relu1_1", "relu2_1")}
    features = {name: draw(name) for name in shapes}
    return content, style, features, torch.zeros(batch, 3, 8, 8, dtype=torch.float64)


def _total(terms: Any) -> tuple[torch.Tensor | None, str | None]:
    if isinstance(terms, torch.Tensor):
        return None, (
            "your objective returned one tensor; return a dict of named terms, "
            'e.g. {"content": ..., "style": ...}, so each can be plotted'
        )
    if not isinstance(terms, Mapping) or not terms:
        return None, f"your objective returned {type(terms).__name__}; return a dict of named scalar terms"
    bad = [key for key, value in terms.items() if not (isinstance(value, torch.Tensor) and value.numel() == 1)]
    if bad:
        return None, (
            f"the term {bad[0]!r} is not a one-number torch tensor; keep each term a tensor "
            "(no .item() or float()), so that gradients can flow"
        )
    return torch.stack([value.reshape(()) for value in terms.values()]).sum(), None


def check_objective(make_objective: Callable[..., Any]) -> bool:
    """Check a learner's ``make_objective(content_targets, style_targets, alpha, beta)``: eq. (7).

    It must return a callable ``objective(features, image) -> {name: scalar}``
    with a ``layers`` attribute, whose terms add up to
    ``alpha * L_content + beta * sum_l w_l E_l`` (``w_l = 1/L``, the paper's
    losses). Compared with :func:`reference_objective`, value and gradient, on
    batches of 1 and 2. Prints ✓ or a hint; returns whether it passed.
    """
    name = "make_objective"
    alpha, beta = 0.7, 30.0
    for batch, seed in ((1, 11), (2, 12)):
        content, style, features, image = _objective_problem(batch, seed)
        objective, hint = _call(make_objective, content, style, alpha, beta)
        if hint is not None:
            return _report(name, hint, "")
        if not callable(objective):
            return _report(name, f"make_objective returned a {type(objective).__name__}; return the objective", "")
        layers = getattr(objective, "layers", None)
        if layers is None:
            return _report(
                name, "the objective has no `layers` attribute: set it to the list of layer names it needs", ""
            )
        missing = sorted((set(content) | set(style)) - set(layers))
        if missing:
            return _report(name, f"`layers` misses {', '.join(missing)}: list every content and style layer", "")
        leaves = {key: value.clone().requires_grad_(True) for key, value in features.items()}
        terms, hint = _call(objective, leaves, image)
        total, hint = (None, hint) if hint else _total(terms)
        if hint is not None:
            return _report(name, hint, "")
        ref = reference_objective(content, style, alpha, beta)
        want_terms = ref(features, image)
        want = torch.stack(list(want_terms.values())).sum()
        if not _close(total, want):
            c = sum(float(v) for k, v in want_terms.items() if k.startswith("content")) / alpha
            s = sum(float(v) for k, v in want_terms.items() if k.startswith("style")) / beta
            layers_count = len(style)
            hint = _guess(
                total.detach(),
                {
                    f"the style layers were summed; the paper weights each by w_l = 1/{layers_count}": torch.tensor(
                        alpha * c + beta * s * layers_count
                    ),
                    "alpha and beta are swapped: alpha multiplies the content loss, beta the style loss": torch.tensor(
                        beta * c + alpha * s
                    ),
                    "the content term is missing": torch.tensor(beta * s),
                    "the style term is missing": torch.tensor(alpha * c),
                    "you forgot alpha: the content loss must be multiplied by it": torch.tensor(c + beta * s),
                    "you forgot beta: the style loss must be multiplied by it": torch.tensor(alpha * c + s),
                    "you used alpha/beta on the style term; alpha multiplies the content, beta the style": (
                        torch.tensor(alpha * c + alpha / beta * s)
                    ),
                },
            )
            return _report(
                name,
                hint
                or f"on a batch of {batch} the terms add up to {float(total):.6g}, expected {float(want):.6g} "
                "(alpha * L_content + beta * sum_l E_l / L)",
                "",
            )
        try:
            total.backward()
        except Exception:  # a detached term: reported as a hint
            return _report(name, NO_GRADIENT, "")
        reference_leaves = {key: value.clone().requires_grad_(True) for key, value in features.items()}
        torch.stack(list(ref(reference_leaves, image).values())).sum().backward()
        for key, leaf in leaves.items():
            if leaf.grad is None or not _close(leaf.grad, reference_leaves[key].grad, rtol=1e-3):
                return _report(name, f"the value is right, but the gradient reaching {key} is not", "")
    return _report(name, None, "alpha * L_content + beta * sum_l w_l E_l, value and gradient, batches of 1 and 2")


# ---------------------------------------------------------------- lesson 03: the loop


class _TinyNet(torch.nn.Module):
    """A stand-in for VGG-19 in the loop check: one fixed 3x3 convolution and a ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        generator = torch.Generator().manual_seed(3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator) * 0.5)
            self.conv.bias.zero_()
        self.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return self.conv.weight.device

    def describe(self) -> dict[str, object]:
        return {"weights": "a tiny fixed network for the check", "kind": "check", "pretrained": False}

    def forward(self, image: torch.Tensor, layers: Any) -> dict[str, torch.Tensor]:
        return {"relu1_1": torch.relu(self.conv(image))}


def _loop_problem() -> tuple[_TinyNet, Objective, torch.Tensor]:
    net = _TinyNet()
    g = torch.Generator().manual_seed(6)
    goal = torch.rand(1, 3, 6, 9, generator=g) * 3.0 - 1.0  # partly outside [0, 1]: the projection matters
    # a loss as small as the paper's on an untrained network (about 1e-11): then only a loop that divides
    # by the first loss keeps L-BFGS's curvature pairs (torch drops a pair whose y's is below 1e-10)
    target = {"relu1_1": net(goal, ["relu1_1"])["relu1_1"]}
    objective = Objective(content_targets=target, content_weight=1e-13, normalization="paper")
    return net, objective, torch.rand(1, 3, 6, 9, generator=g)


def reference_loop(net: Any, objective: Any, init: torch.Tensor, steps: int) -> tuple[torch.Tensor, list[float]]:
    """The package's loop in the shape a learner's loop has: (final image, total loss before each step)."""
    result = optimize(net, objective, init, steps=steps, progress=False)
    return result.image, list(result.history["total"])


def _variant_loop(
    net: Any,
    objective: Any,
    init: torch.Tensor,
    steps: int,
    *,
    zero_grad: bool = True,
    scale: bool = True,
    fold_pixels: bool = True,
    clamp_inside: bool = False,
    return_divided: bool = True,
    learning_rate: float = 1.0,
    line_search: bool = True,
    aim_first: bool = True,
    reset_lr: bool = True,
) -> list[float]:
    """A loop with one thing changed: what a learner's loop gives when that one thing is missing.

    ``fold_pixels=False`` is the common tutorial loop: optimise the image itself and clamp it
    to [0, 1] after each step. ``clamp_inside=True`` measures ``free.clamp(0, 1)`` where
    ``fold(free)`` belongs. ``return_divided=False`` differentiates the divided loss but
    returns the total itself (and records what ``step`` returns).
    """
    free = init.detach().clone().clamp(0, 1).requires_grad_(True)
    opt = torch.optim.LBFGS(
        [free],
        lr=learning_rate,
        max_iter=1,
        max_eval=1 + LINE_SEARCH_TRIALS,
        history_size=50,  # a check of a few steps cannot tell one memory from a longer one
        line_search_fn="strong_wolfe" if line_search else None,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    first: list[float] = []

    def closure() -> torch.Tensor:
        if zero_grad:
            opt.zero_grad()
        image = free.clamp(0, 1) if clamp_inside else fold(free) if fold_pixels else free
        total = torch.stack(list(objective(net(image, objective.layers), image).values())).sum()
        if not first:
            first.append(total.item() if scale else 1.0)
        scaled = total / first[0]
        scaled.backward()
        return scaled if return_divided else total.detach()

    if aim_first:
        opt.param_groups[0]["lr"] = first_step_lr(closure().item(), free.grad, learning_rate)
    losses: list[float] = []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()) * (first[0] if return_divided else 1.0))
        if reset_lr:
            opt.param_groups[0]["lr"] = learning_rate
        if not fold_pixels:
            with torch.no_grad():
                free.clamp_(0, 1)
    return losses


def check_loop(loop: Callable[..., Any], steps: int = 6) -> bool:
    """Check a learner's ``loop(net, objective, init, steps) -> (image, losses)`` against :func:`nst_course.optimize`.

    On a small problem whose best image lies partly outside [0, 1], the
    learner's losses (the total before each step, as floats) must follow the
    package's loop step by step, and the image must stay in [0, 1]. When they
    do not, the check names the mistake: losses recorded divided, or the loop rerun with one
    ingredient changed (no ``zero_grad``, no scaling by the first loss, a clamp instead of
    the fold after each step or inside the closure, the total returned where the divided
    loss was differentiated, another step size, no line search, no aimed first step or an
    aimed step every time). Prints ✓ or a hint; returns whether it passed.
    """
    name = "loop"
    net, objective, init = _loop_problem()
    out, hint = _call(loop, net, objective, init, steps)
    if hint is not None:
        if "does not require grad" in hint or "has no attribute 'backward'" in hint or "grad_fn" in hint:
            hint = (
                "backward() found no gradient path: make the image a leaf that requires grad, and keep the loss "
                f"a tensor inside the closure (no .item(), float() or .detach() before backward) [{hint}]"
            )
        return _report(name, hint, "")
    if not (isinstance(out, tuple | list) and len(out) == 2):
        return _report(name, "return two things: the image and the list of losses, one per step", "")
    image, losses = out
    if not isinstance(image, torch.Tensor) or image.shape != init.shape:
        return _report(name, f"the image should be a tensor of the start's shape {tuple(init.shape)}", "")
    try:
        losses = [float(value) for value in losses]
    except (TypeError, ValueError):
        return _report(name, "the losses should be a list of numbers, one per step", "")
    if len(losses) != steps:
        return _report(
            name,
            f"{len(losses)} losses for {steps} steps: record the total loss once per step, the one the step "
            "starts from (optimizer.step(closure) returns it; the closure runs more than once when the line "
            "search tries several steps)",
            "",
        )
    _, want = reference_loop(net, objective, init, steps)

    def same(a: list[float], b: list[float]) -> bool:  # as shares of the first loss: it is tiny
        return _close(torch.tensor(a) / want[0], torch.tensor(b) / want[0], rtol=2e-3)

    if same(losses, want):
        if float(image.min()) < -1e-6 or float(image.max()) > 1 + 1e-6:
            return _report(name, "the losses agree, but the image left [0, 1]: return fold(free), not free", "")
        return _report(name, None, f"follows nst.optimize step by step ({steps} steps) and stays in [0, 1]")
    if same([value * want[0] for value in losses], want):
        return _report(
            name,
            "your losses are the divided ones (1.0 at the start): multiply each by the first loss, so that the "
            "list holds the totals themselves",
            "",
        )
    variants = {
        "you forgot optimizer.zero_grad() in the closure: gradients add up from step to step": {"zero_grad": False},
        "you did not divide the loss by its first value before backward(): on a loss this small, L-BFGS "
        "drops every curvature pair (torch keeps one only when y's > 1e-10)": {"scale": False},
        "you optimise the image itself and clamp it: optimise a free tensor and measure nst.fold(free), "
        "so that no clamp moves the pixels behind L-BFGS's back": {"fold_pixels": False},
        "you measure free.clamp(0, 1): a clamp passes no gradient to a pixel once it is outside [0, 1], so it sticks "
        "at 0 or 1; measure nst.fold(free), which mirrors it back": {"clamp_inside": True},
        "your closure calls backward() on the divided loss but returns the total: return the divided loss, so "
        "that the line search compares values and gradients of one function": {"return_divided": False},
        "the step size differs: use lr=1.0 (full L-BFGS steps)": {"learning_rate": 0.5},
        "your loop takes every step as it comes: give LBFGS a line search, line_search_fn='strong_wolfe', and "
        "room for its trials, max_eval=21 (torch's default allows one evaluation in all)": {"line_search": False},
        "your first step is torch's own tiny first try: before the loop, measure the start with closure() and "
        "set the optimiser's lr to nst.first_step_lr(loss, free.grad)": {"aim_first": False},
        "only the first step should use nst.first_step_lr: set lr back to 1.0 after it": {"reset_lr": False},
    }
    for variant_hint, change in variants.items():
        if same(losses, _variant_loop(net, objective, init, steps, **change)):
            return _report(name, variant_hint, "")
    if same(losses[:-1], want[1:]):
        return _report(name, "your losses are one step late: record the loss before the step, inside the closure", "")
    step = next(i for i, (a, b) in enumerate(zip(losses, want, strict=True)) if not math.isclose(a, b, rel_tol=2e-3))
    return _report(
        name,
        f"the losses part from nst.optimize's at step {step + 1} ({losses[step]:.6g} instead of {want[step]:.6g}): "
        "one L-BFGS iteration per step over a free tensor (max_iter=1, lr=1.0, history_size=50, "
        "line_search_fn='strong_wolfe', max_eval=21, no tolerance stop), the first step aimed with "
        "nst.first_step_lr; in the closure: zero_grad, image = nst.fold(free), loss / first loss, backward",
        "",
    )


# ---------------------------------------------------------------- the learner's function, or the package's


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
