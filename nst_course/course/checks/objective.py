"""Lesson 03's first check: the objective of eq. (7), built by the learner's ``make_objective``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ...engine.losses import gram_matrix as _gram_matrix
from ...engine.objective import Objective
from .harness import NO_GRADIENT, Hint, call, check, close, guess

__all__ = ["check_objective", "reference_objective"]


def reference_objective(
    content_targets: Mapping[str, torch.Tensor],
    style_targets: Mapping[str, torch.Tensor],
    alpha: float,
    beta: float,
) -> Objective:
    """The package's objective with the paper's normalisation: what a learner's ``make_objective`` should give.

    >>> objective = reference_objective({"relu4_2": torch.zeros(1, 2, 3, 3)}, {}, 1.0, 1.0)
    >>> objective.layers
    ['relu4_2']
    """
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


def _total(terms: Any) -> torch.Tensor:
    """The sum of an objective's named one-number terms; a :class:`Hint` when they are something else."""
    if isinstance(terms, torch.Tensor):
        raise Hint(
            "your objective returned one tensor; return a dict of named terms, "
            'e.g. {"content": ..., "style": ...}, so each can be plotted'
        )
    if not isinstance(terms, Mapping) or not terms:
        raise Hint(f"your objective returned {type(terms).__name__}; return a dict of named scalar terms")
    for key, value in terms.items():
        if not (isinstance(value, torch.Tensor) and value.numel() == 1):
            raise Hint(
                f"the term {key!r} is not a one-number torch tensor; keep each term a tensor "
                "(no .item() or float()), so that gradients can flow"
            )
        if not value.is_floating_point():
            raise Hint(
                f"the term {key!r} has dtype {value.dtype}; keep each term a floating-point tensor "
                "(no .long(), .int() or rounding)"
            )
    return torch.stack([value.reshape(()) for value in terms.values()]).sum()


@check("make_objective", passed="alpha * L_content + beta * sum_l w_l E_l, value and gradient, batches of 1 and 2")
def check_objective(make_objective: Callable[..., Any]) -> None:
    """Check a learner's ``make_objective(content_targets, style_targets, alpha, beta)``: eq. (7).

    It must return a callable ``objective(features, image) -> {name: scalar}``
    with a ``layers`` attribute, whose terms add up to
    ``alpha * L_content + beta * sum_l w_l E_l`` (``w_l = 1/L``, the paper's
    losses). Compared with :func:`reference_objective`, value and gradient, on
    batches of 1 and 2. Prints ✓ or a hint; returns whether it passed.

    >>> check_objective(reference_objective)
    ✓ make_objective: alpha * L_content + beta * sum_l w_l E_l, value and gradient, batches of 1 and 2
    True
    """
    alpha, beta = 0.7, 30.0
    for batch, seed in ((1, 11), (2, 12)):
        content, style, features, image = _objective_problem(batch, seed)
        names = ("content_targets", "style_targets", "alpha", "beta")
        objective = call(make_objective, content, style, alpha, beta, names=names)
        if not callable(objective):
            raise Hint(f"make_objective returned a {type(objective).__name__}; return the objective")
        layers = getattr(objective, "layers", None)
        if layers is None:
            raise Hint("the objective has no `layers` attribute: set it to the list of layer names it needs")
        try:
            missing = sorted((set(content) | set(style)) - {str(layer) for layer in layers})
        except TypeError:
            raise Hint(f"`layers` is a {type(layers).__name__}: make it a list of layer names") from None
        if missing:
            raise Hint(f"`layers` misses {', '.join(missing)}: list every content and style layer")
        leaves = {key: value.clone().requires_grad_(True) for key, value in features.items()}
        terms = call(objective, leaves, image, names=("features", "image"), who="your objective")
        total = _total(terms)
        ref = reference_objective(content, style, alpha, beta)
        want_terms = ref(features, image)
        want = torch.stack(list(want_terms.values())).sum()
        if not close(total, want):
            c = sum(float(v) for k, v in want_terms.items() if k.startswith("content")) / alpha
            s = sum(float(v) for k, v in want_terms.items() if k.startswith("style")) / beta
            layers_count = len(style)
            hint = guess(
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
            raise Hint(
                hint
                or f"on a batch of {batch} the terms add up to {float(total):.6g}, expected {float(want):.6g} "
                "(alpha * L_content + beta * sum_l E_l / L)"
            )
        try:
            total.backward()
        except Exception:  # a detached term: reported as a hint
            raise Hint(NO_GRADIENT) from None
        reference_leaves = {key: value.clone().requires_grad_(True) for key, value in features.items()}
        torch.stack(list(ref(reference_leaves, image).values())).sum().backward()
        for key, leaf in leaves.items():
            if leaf.grad is None or not close(leaf.grad, reference_leaves[key].grad, rtol=1e-3):
                raise Hint(f"the value is right, but the gradient reaching {key} is not")
