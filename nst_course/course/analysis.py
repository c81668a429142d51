"""Measurements that explain results: what a Gram matrix forgets, its centred cousin, high frequencies.

* :func:`shuffle_positions` and :func:`position_test`: move a feature map's
  positions around at random. A statistic that sums over positions (the Gram
  matrix) does not change; the features themselves (what the content loss
  compares) do. That is why a Gram-matrix style keeps the strokes and loses the
  layout.
* :func:`channel_means` and :func:`covariance_matrix`: the Gram matrix is the
  centred covariance plus the outer product of the channel means,
  ``G = S + m m^T``, so "match the Gram matrices" and "match the means and
  the covariances" are close but not the same objective.
  :func:`mean_covariance_loss` is the second one.
* :func:`high_pass` and :func:`high_pass_picture`: the part of an image that a
  slight blur removes, where noise and checkerboard artefacts live; what the
  total-variation term suppresses.
* :class:`LossClock`: a callback for the loop that notes when each loss was
  seen and can stop a run once a target loss is reached, to measure how long a
  plan (e.g. coarse to fine) takes to get somewhere.

Features are (B, C, H, W) tensors, images (B, 3, H, W) in [0, 1]. Lesson 05.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..engine import losses
from ..engine.losses import gram_matrix
from ..errors import NSTError

__all__ = [
    "LossClock",
    "PositionTest",
    "channel_means",
    "covariance_matrix",
    "high_pass",
    "high_pass_picture",
    "mean_covariance_loss",
    "position_test",
    "shuffle_positions",
]


def _check_features(features: torch.Tensor, name: str = "features") -> None:
    if features.ndim != 4:
        raise NSTError(f"{name} must be (B, C, H, W), got shape {tuple(features.shape)}")


def shuffle_positions(features: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """The same feature map with its H*W positions in a random order (the same order for every channel).

    >>> f = torch.arange(6.0).reshape(1, 1, 2, 3)
    >>> sorted(shuffle_positions(f).flatten().tolist()) == f.flatten().tolist()
    True
    """
    _check_features(features)
    b, c, h, w = features.shape
    order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed)).to(features.device)
    return features.reshape(b, c, h * w)[:, :, order].reshape(b, c, h, w)


class PositionTest(NamedTuple):
    """What shuffling the positions did: to the statistic, and to the features themselves."""

    statistic_unchanged: bool
    """True when the statistic of the shuffled features equals the original's (to float precision)."""
    features_changed: bool
    """True when the shuffled features differ from the original: the content loss sees the move."""
    statistic_change: float
    """Largest change of the statistic, relative to its largest entry."""
    feature_change: float
    """Root-mean-square change of the features, relative to their root-mean-square size."""


def position_test(
    features: torch.Tensor, *, statistic: Callable[[torch.Tensor], torch.Tensor] | None = None, seed: int = 0
) -> PositionTest:
    """Shuffle the positions of ``features``: does ``statistic`` notice? Do the features?

    With the Gram matrix (the default: ``nst_course.engine.losses.gram_matrix``) the
    answer is "no" and "yes", whatever the network's weights, because a sum
    over positions does not depend on their order.

    >>> f = torch.rand(1, 4, 6, 5, generator=torch.Generator().manual_seed(0))
    >>> position_test(f)[:2]
    (True, True)
    >>> position_test(f, statistic=lambda x: x[..., 0, :])[:2]  # the first row: a place-bound statistic
    (False, True)
    """
    _check_features(features)
    statistic = statistic or losses.gram_matrix
    shuffled = shuffle_positions(features, seed=seed)
    before, after = statistic(features), statistic(shuffled)
    scale = before.abs().max().clamp_min(1e-12)
    statistic_change = float((after - before).abs().max() / scale) if before.shape == after.shape else float("inf")
    feature_change = float((shuffled - features).pow(2).mean().sqrt() / features.pow(2).mean().sqrt().clamp_min(1e-12))
    return PositionTest(
        statistic_unchanged=statistic_change < 1e-5,
        features_changed=feature_change > 1e-3,
        statistic_change=statistic_change,
        feature_change=feature_change,
    )


def channel_means(features: torch.Tensor) -> torch.Tensor:
    """Each channel's mean over the positions: (B, C, H, W) -> (B, C).

    >>> channel_means(torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]]]))
    tensor([[2., 2.]])
    """
    _check_features(features)
    return features.mean(dim=(2, 3))


def covariance_matrix(features: torch.Tensor) -> torch.Tensor:
    """The channels' covariance over positions: (B, C, H, W) -> (B, C, C), divided by H*W.

    The Gram matrix of the features after each channel's mean is taken away;
    ``gram_matrix(f) == covariance_matrix(f) + m m^T`` with ``m = channel_means(f)``.

    >>> f = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]]])
    >>> covariance_matrix(f)
    tensor([[[1., 0.],
             [0., 0.]]])
    >>> m = channel_means(f)
    >>> torch.allclose(gram_matrix(f), covariance_matrix(f) + m[:, :, None] * m[:, None, :])
    True
    """
    _check_features(features)
    return gram_matrix(features - features.mean(dim=(2, 3), keepdim=True))


def mean_covariance_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A style loss on channel means and covariances: (B, C, H, W) x (B, C, H', W') -> ().

    ``sum((m - m_t)^2) + sum((S - S_t)^2)`` with ``m`` the channel means and
    ``S`` the covariance matrices (:func:`covariance_matrix`) of ``features``
    and of the style image's ``target`` features, which may have another size.
    Unnormalised: divide by its value for zero features to compare layers.

    >>> f, t = torch.tensor([[[[1.0, 3.0]]]]), torch.tensor([[[[0.0, 0.0, 0.0]]]])
    >>> mean_covariance_loss(f, t)  # means 2 vs 0, variances 1 vs 0: 4 + 1
    tensor(5.)
    """
    _check_features(features)
    _check_features(target, "target")
    if features.shape[:2] != target.shape[:2]:
        raise NSTError(f"features {tuple(features.shape)} and target {tuple(target.shape)} differ in batch or channels")
    mean_term = (channel_means(features) - channel_means(target)).pow(2).sum()
    covariance_term = (covariance_matrix(features) - covariance_matrix(target)).pow(2).sum()
    return mean_term + covariance_term


_BLUR = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # a 5-tap binomial filter, close to a Gaussian of sigma 1


def high_pass(image: torch.Tensor) -> torch.Tensor:
    """What a slight blur removes: ``image - blur(image)``, per channel; (B, C, H, W) -> same shape.

    Zero for a constant image; large on noise, edges and checkerboards.

    >>> float(high_pass(torch.full((1, 3, 8, 8), 0.5)).abs().max())
    0.0
    >>> checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2
    >>> round(float(high_pass(checker.float().expand(1, 3, 8, 8)).abs().mean()), 2)
    0.5
    """
    if image.ndim != 4:
        raise NSTError(f"high_pass expects a (B, C, H, W) image, got shape {tuple(image.shape)}")
    c = image.shape[1]
    kernel = _BLUR.to(image)
    padded = F.pad(image, (2, 2, 2, 2), mode="replicate")
    blurred = F.conv2d(padded, kernel.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    blurred = F.conv2d(blurred, kernel.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
    return image - blurred


def high_pass_picture(image: torch.Tensor, *, gain: float = 4.0) -> torch.Tensor:
    """A picture of :func:`high_pass`: its size per pixel (mean over channels) times ``gain``, in grey.

    Use the same ``gain`` for pictures you compare. (B, 3, H, W) -> (B, 3, H, W) in [0, 1].
    """
    magnitude = high_pass(image).abs().mean(dim=1, keepdim=True) * gain
    return magnitude.clamp(0.0, 1.0).expand(-1, 3, -1, -1).contiguous()


class LossClock:
    """A loop callback that records each step's total loss with the wall and CPU seconds since ``start``.

    Pass ``target`` to stop the run as soon as a step starts from a loss at or
    below it; :attr:`reached` then holds the seconds (wall, CPU) at that moment.
    Several runs can share one clock's start (``LossClock(start=other.start)``)
    to time a plan of several stages.

    >>> clock = LossClock(target=1.0)
    >>> [clock(step, {"total": loss}, None) for step, loss in enumerate([3.0, 2.0, 0.5], start=1)]
    [False, False, True]
    >>> clock.losses, clock.reached is not None
    ([3.0, 2.0, 0.5], True)
    """

    def __init__(self, *, target: float | None = None, start: tuple[float, float] | None = None) -> None:
        self.target = target
        self.start = start or (time.perf_counter(), time.process_time())
        self.losses: list[float] = []
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.reached: tuple[float, float] | None = None

    def elapsed(self) -> tuple[float, float]:
        """(wall, CPU) seconds since the start."""
        return time.perf_counter() - self.start[0], time.process_time() - self.start[1]

    def __call__(self, step: int, losses: Mapping[str, float], image: object) -> bool:
        wall, cpu = self.elapsed()
        self.losses.append(float(losses["total"]))
        self.seconds.append(wall)
        self.cpu_seconds.append(cpu)
        if self.target is not None and self.reached is None and losses["total"] <= self.target:
            self.reached = (wall, cpu)
            return True
        return False
