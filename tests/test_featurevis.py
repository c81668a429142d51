"""Feature visualisation recovers known filters, and each regulariser does what it is for.

The network here is made by hand: each of its "layers" is one channel whose filter
is known (an oriented grating, a colour detector, a stride-2 checkerboard), so what
the visualisation should find is known without trained weights.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F

from nst_course.engine.featurevis import (
    COLOUR_MATRIX,
    COLOUR_MEAN,
    Unit,
    UnitObjective,
    channel,
    colour_statistics,
    direction,
    fourier_image,
    neuron,
    visualise,
)
from nst_course.errors import NSTError

SIZE = 48
STEPS = 64


def grating(k: int = 11, period: float = 6.0, angle: float = 30.0) -> torch.Tensor:
    """A zero-mean oriented cosine grating under a Gaussian window, (k, k)."""
    r = torch.arange(k) - (k - 1) / 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    a = math.radians(angle)
    g = torch.cos(2 * math.pi * (x * math.cos(a) + y * math.sin(a)) / period)
    g = g * torch.exp(-(x**2 + y**2) / (2 * (k / 4) ** 2))
    return g - g.mean()


GRATING = grating()
RED = torch.tensor([1.0, -0.4, -0.4])  # positive on the mean colour, so the channel is alive at the start
CHECKER = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])


class HandMade:
    """A "network" whose layers are single channels with known filters: sum of gain * ReLU(conv)."""

    device = torch.device("cpu")
    LAYERS: ClassVar[dict] = {
        "grating": [(GRATING.expand(1, 3, 11, 11) / 3, 1, 1.0)],
        "red": [(RED.view(1, 3, 1, 1), 1, 1.0)],
        "red_stride2": [(RED.view(1, 3, 1, 1), 2, 1.0)],
        "grating_or_checker": [(GRATING.expand(1, 3, 11, 11) / 3, 1, 1.0), (CHECKER.expand(1, 3, 2, 2) / 3, 2, 3.0)],
    }

    def describe(self) -> dict[str, object]:
        return {"weights": "hand-made filters", "kind": "test", "pretrained": False, "pooling": "none"}

    def __call__(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        out = {}
        for name in layers:
            if name == "two":  # channel 0: the grating, channel 1: the red detector
                out[name] = torch.cat([self(image, ["grating"])["grating"], self(image, ["red"])["red"]], dim=1)
                continue
            out[name] = sum(
                gain * F.relu(F.conv2d(image, w, stride=stride)).mean(dim=(2, 3), keepdim=True)
                for w, stride, gain in self.LAYERS[name]
            )
        return out


NET = HandMade()
STILL = {"jitter": 0, "scale": 0, "rotate": 0}


def high_frequency_share(image: torch.Tensor) -> float:
    """Share of the grey image's (mean-free) power above a quarter cycle per pixel."""
    grey = image.mean(1)
    grey = grey - grey.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(grey).abs().pow(2)
    fy = torch.fft.fftfreq(grey.shape[-2]).view(-1, 1)
    fx = torch.fft.fftfreq(grey.shape[-1]).view(1, -1)
    return float((power * ((fy**2 + fx**2).sqrt() > 0.25)).sum() / power.sum())


def best_match(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """For each image, the highest normalised correlation of a grey patch with ``kernel``."""
    grey = images.mean(1, keepdim=True)
    k = (kernel - kernel.mean()).flatten()
    k = k / k.norm()
    patches = F.unfold(grey, kernel.shape)
    patches = patches - patches.mean(1, keepdim=True)
    patches = patches / patches.norm(dim=1, keepdim=True).clamp_min(1e-8)
    return (k.view(1, -1, 1) * patches).sum(1).max(dim=1).values


def run(layer: str, units=(0,), **overrides):
    return visualise(NET, layer, list(units), size=SIZE, steps=STEPS, progress=False, **overrides)


def test_a_grating_channel_is_visualised_as_its_grating_far_above_chance():
    noise = torch.rand(40, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    chance = best_match(noise, GRATING)
    result = run("grating", units=(0, 0))
    match = best_match(result.image, GRATING)
    assert (match > chance.mean() + 6 * chance.std()).all(), (match, chance.mean(), chance.std())
    assert result.best_loss < result.history["total"][0]


def test_a_colour_detector_is_visualised_in_its_colour():
    image = run("red", **STILL).image
    shift = image.mean(dim=(2, 3))[0] - torch.tensor(COLOUR_MEAN)
    assert float(F.cosine_similarity(shift, RED, dim=0)) > 0.8, shift


def test_each_image_of_a_batch_serves_its_own_unit():
    result = run("two", units=(0, 1))
    grating_image, red_image = result.image[0:1], result.image[1:2]
    assert best_match(grating_image, GRATING) > best_match(red_image, GRATING) + 0.2
    redness = [float(im[0, 0].mean() - im[0, 1:].mean()) for im in (grating_image, red_image)]
    assert redness[1] > redness[0] + 0.1, redness
    assert list(result.history) == ["two channel 0 #0", "two channel 1 #1", "total"]


def test_transformation_robustness_removes_the_high_frequency_exploit():
    # the channel pays 3x for a pixel-level checkerboard seen through a stride of 2, which a
    # shift of one pixel turns into its opposite; a grating pays wherever it falls
    still = run("grating_or_checker", **STILL).image
    moved = run("grating_or_checker").image
    assert high_frequency_share(still) > 0.4
    assert high_frequency_share(moved) < 0.6 * high_frequency_share(still)


def test_the_fourier_parametrisation_removes_the_high_frequencies_a_stride_leaves():
    # a colour detector that only sees every other pixel: pixel steps paint a lattice of dots,
    # steps in the 1/f-scaled spectrum paint mostly the whole image
    pixels = run("red_stride2", fourier=False, **STILL).image
    spectrum = run("red_stride2", **STILL).image
    assert high_frequency_share(pixels) > 0.9
    assert high_frequency_share(spectrum) < 0.3


def test_the_tv_penalty_removes_high_frequencies():
    plain = run("grating_or_checker", **STILL).image
    smooth = run("grating_or_checker", tv_weight=2.0, **STILL).image
    assert high_frequency_share(smooth) < 0.75 * high_frequency_share(plain)


def test_a_visualisation_is_deterministic_for_a_seed():
    first, again, other = run("grating", seed=3), run("grating", seed=3), run("grating", seed=4)
    assert torch.equal(first.image, again.image)
    assert not torch.equal(first.image, other.image)
    assert first.settings["seed"] == 3 and first.settings["jitter"] == 8.0
    assert first.weights == "hand-made filters"


def test_the_colour_matrix_is_the_offline_samples_statistics():
    from nst_course.course.examples import OFFLINE_SAMPLES
    from nst_course.media.images import load_image

    mean, matrix = colour_statistics([load_image(name, size=128) for name in OFFLINE_SAMPLES])
    assert torch.allclose(torch.tensor(mean), torch.tensor(COLOUR_MEAN), atol=2e-4)
    assert torch.allclose(torch.tensor(matrix), torch.tensor(COLOUR_MATRIX), atol=2e-4)


def test_zero_coefficients_give_the_mean_colour():
    image = fourier_image(torch.zeros(1, 3, 8, 5, 2), (8, 8))
    assert torch.allclose(image, torch.tensor(COLOUR_MEAN).view(1, 3, 1, 1).expand(1, 3, 8, 8), atol=1e-5)


def test_units_measure_a_channel_a_neuron_and_a_direction():
    feature = torch.zeros(1, 2, 3, 3)
    feature[0, 0] = torch.arange(9.0).view(3, 3)
    feature[0, 1] = 1.0
    terms = UnitObjective("x", (channel(0), neuron(0), neuron(0, 0, 2), direction([0.0, 2.0])))(
        {"x": feature.expand(4, 2, 3, 3)}, torch.zeros(4, 3, 3, 3)
    )
    assert [round(float(v), 4) for v in terms.values()] == [-4.0, -4.0, -2.0, -1.0]


@pytest.mark.parametrize(
    ("units", "message"),
    [([5], "channel 5 does not exist"), ([], "at least one channel"), (["3"], "whole numbers")],
)
def test_bad_units_are_refused_in_one_line(units, message):
    with pytest.raises(NSTError, match=message) as caught:
        visualise(NET, "two", units, size=16, steps=1, progress=False)
    assert "\n" not in str(caught.value)


def test_a_unit_without_a_channel_and_a_neuron_without_its_column_are_refused_in_one_line():
    with pytest.raises(NSTError, match=r"make it with channel\(\), neuron\(\) or direction\(\)") as caught:
        visualise(NET, "two", [Unit()], size=16, steps=1, progress=False)
    assert "\n" not in str(caught.value)
    with pytest.raises(NSTError, match="both a row and a column"):
        neuron(0, 1)
    with pytest.raises(NSTError, match="both a row and a column"):
        neuron(0, column=1)
