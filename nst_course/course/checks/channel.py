"""Lesson 06's check: the objective that makes an image excite one channel.

:func:`check_channel_objective` builds the learner's objective for a few
(layer, channel) pairs, runs it on small feature tensors (batches of 1 and 3,
two layers, non-square grids) and compares its total, the sum of its terms, and
its gradient with minus the channel's mean activation. It prints one line, ✓ or
✗ with a hint, and returns whether it passed: whatever the learner's function
is, returns or raises, the check answers with that line, never a traceback.

It is written on the common check harness (:mod:`nst_course.course.checks.harness`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from .harness import Hint, call, check, close, guess, one_number, same_gradient

__all__ = ["check_channel_objective", "reference_channel_objective"]

WHAT = "minus the mean of the channel's activation, -features[layer][:, channel].mean()"


class _ChannelObjective:
    def __init__(self, layer: str, channel: int) -> None:
        self.layer, self.channel = layer, int(channel)
        self.layers = [layer]

    def __call__(self, features: Mapping[str, torch.Tensor], image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {f"{self.layer} channel {self.channel}": -features[self.layer][:, self.channel].mean()}


def reference_channel_objective(layer: str, channel: int) -> _ChannelObjective:
    """The package's answer: ``{"<layer> channel <c>": -features[layer][:, c].mean()}``, with ``.layers``.

    >>> objective = reference_channel_objective("relu1_1", 1)
    >>> objective.layers, objective({"relu1_1": torch.ones(1, 2, 3, 3)}, None)
    (['relu1_1'], {'relu1_1 channel 1': tensor(-1.)})
    """
    return _ChannelObjective(layer, channel)


def _cases() -> list[tuple[str, int, dict[str, torch.Tensor]]]:
    """(layer, channel, features): batches of 3 and 1, two layers each, channel > 0, means far from zero."""
    g = torch.Generator().manual_seed(23)

    def maps(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g, dtype=torch.float64) * 2 + torch.arange(shape[1]).view(1, -1, 1, 1)

    return [
        ("relu2_1", 1, {"relu2_1": maps(3, 4, 3, 5), "relu3_1": maps(3, 6, 2, 2)}),
        ("relu3_1", 2, {"relu2_1": maps(1, 4, 6, 4), "relu3_1": maps(1, 5, 3, 7)}),
    ]


def _layers_hint(objective: Any, layer: str) -> str | None:
    if not hasattr(objective, "layers"):
        return (
            f"your objective has no `.layers`: the loop reads from it which layers to compute; "
            f"set objective.layers = [{layer!r}] before returning it"
        )
    layers = objective.layers
    if not isinstance(layers, list | tuple) or list(layers) != [layer]:
        return f"your objective's `.layers` is {layers!r}; make it the list of the one layer it reads: [{layer!r}]"
    return None


def _total(objective: Any, features: dict[str, torch.Tensor], image: torch.Tensor) -> torch.Tensor:
    out = call(objective, features, image, names=("features", "image"), who="your objective")
    if isinstance(out, torch.Tensor):
        raise Hint("your objective returned a tensor; return a dict of named losses, e.g. {'channel': loss}")
    if not isinstance(out, Mapping) or not out:
        raise Hint(f"your objective returned a {type(out).__name__}; return a dict of named losses, {{name: loss}}")
    terms = [one_number(v, WHAT, who=f"your objective's term {k!r}") for k, v in out.items()]
    return torch.stack([t.to(torch.float64) for t in terms]).sum()


@check("channel_objective", passed=f"{WHAT}, with .layers, on batches of 1 and 3 and two layers")
def check_channel_objective(fn: Callable[[str, int], Any]) -> None:
    """Check ``channel_objective(layer, channel)``: an objective whose terms add up to minus the channel's mean.

    The objective is called as ``objective(features, image)``, where ``features`` maps
    layer names to (B, C, H, W) tensors, and must carry ``.layers``. Prints ✓ or a hint.

    >>> def plus(layer, channel):
    ...     objective = lambda features, image: {"c": features[layer][:, channel].mean()}
    ...     objective.layers = [layer]
    ...     return objective
    >>> check_channel_objective(plus)  # doctest: +ELLIPSIS
    ✗ channel_objective: the loop minimises: to make the channel respond strongly, minimise MINUS its mean ...
    False
    >>> check_channel_objective(reference_channel_objective)  # doctest: +ELLIPSIS
    ✓ channel_objective: minus the mean of the channel's activation, ... on batches of 1 and 3 and two layers
    True
    """
    image = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    for layer, channel, features in _cases():
        objective = call(fn, layer, channel, names=("layer", "channel"))
        if not callable(objective):
            raise Hint(
                f"channel_objective returned a {type(objective).__name__}; return the objective itself, "
                "a function of (features, image) that gives {name: loss}"
            )
        hint = _layers_hint(objective, layer)
        if hint:
            raise Hint(hint)
        got = _total(objective, features, image)
        f = features[layer]
        want = -f[:, channel].mean()
        if close(got, want):
            continue
        other = next(name for name in features if name != layer)
        guesses = {
            "the loop minimises: to make the channel respond strongly, minimise MINUS its mean "
            "(put a minus sign in front)": -want,
            "take the mean over positions, not the sum: the sum grows with the image's size (use .mean())": -f[
                :, channel
            ].sum(),
            "the sum made positive: minimise MINUS the channel's mean, and use .mean(), not .sum()": f[
                :, channel
            ].sum(),
            f"you picked image {channel} of the batch, not channel {channel}: the channels are the SECOND axis, "
            "features[layer][:, channel]": -f[min(channel, f.shape[0] - 1)].mean(),
            "you used only the first image of the batch: take all of them, features[layer][:, channel]": -f[
                0, channel
            ].mean(),
            "you added up one mean per image: take one mean over the whole batch, "
            "features[layer][:, channel].mean()": -f[:, channel].mean(dim=(1, 2)).sum(),
            "you averaged all channels: pick the one channel, features[layer][:, channel]": -f.mean(),
            f"you read the features of {other}: use features[layer], the layer the objective was made for": -features[
                other
            ][:, min(channel, features[other].shape[1] - 1)].mean(),
        }
        raise Hint(
            guess(got, guesses)
            or f"for {layer} channel {channel} on features {tuple(f.shape)} your terms add up to {float(got):.6g}, "
            f"expected {float(want):.6g} ({WHAT})"
        )
    _gradient(fn)


def _gradient(fn: Callable[[str, int], Any]) -> None:
    """A :class:`Hint` unless the gradient with respect to the features is the reference's."""
    layer, channel, features = _cases()[0]
    image = torch.rand(1, 3, 8, 8, dtype=torch.float64)

    def grad(make: Callable[[str, int], Any]) -> torch.Tensor | None:
        leaf = features[layer].clone().requires_grad_(True)
        out = make(layer, channel)({**features, layer: leaf}, image)
        torch.stack([v.reshape(()).to(torch.float64) for v in out.values()]).sum().backward()
        return leaf.grad

    same_gradient(
        grad,
        fn,
        reference_channel_objective,
        "the value is right, but the gradient is not: is part of the computation detached?",
    )
