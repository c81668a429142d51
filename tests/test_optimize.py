"""The one optimisation loop and the three runs built on it."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import nst_course as nst
from nst_course.optimize import Objective, optimize

TINY = nst.Settings(size=32, steps=12, weights="random")


@pytest.fixture(scope="module")
def photo():
    return nst.load_image("town", size=32)


@pytest.fixture(scope="module")
def painting():
    return nst.load_image("swirls", size=32)


def test_short_transfer_lowers_the_loss_and_keeps_pixels_in_range(net, photo, painting):
    seen = []
    result = nst.transfer(
        photo,
        painting,
        settings=TINY,
        net=net,
        progress=False,
        callback=lambda step, losses, image: seen.append((step, losses, image)),
    )
    total = result.history["total"]
    assert len(total) == 12 and result.steps_done == 12 and result.stopped == "finished"
    assert min(total) < 0.5 * total[0]
    assert result.loss_drop > 0.5
    assert result.image.shape == photo.shape
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert set(result.history) == {"content conv4_2", "total"} | {f"style {n}" for n in nst.STYLE_LAYERS}
    assert [s for s, _, _ in seen] == list(range(1, 13))
    assert all(img.min() >= 0.0 and img.max() <= 1.0 for _, _, img in seen)
    assert result.weights == "random (untrained, seed 0)"
    assert result.settings["style_weight"] == TINY.style_weight and result.settings["seed"] == 0


def test_same_seed_same_result_other_seed_other_result(net, photo, painting):
    noise = dataclasses.replace(TINY, steps=3, init="noise")
    a = nst.transfer(photo, painting, settings=noise, net=net, progress=False)
    b = nst.transfer(photo, painting, settings=noise, net=net, progress=False)
    c = nst.transfer(photo, painting, settings=dataclasses.replace(noise, seed=1), net=net, progress=False)
    assert torch.equal(a.image, b.image)
    assert not torch.equal(a.image, c.image)


def test_reconstruction_from_a_shallow_layer_approaches_the_photo(net, photo):
    result = nst.reconstruct(photo, layer="conv1_2", net=net, settings=TINY, steps=30, progress=False)
    noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    assert (result.image - photo).abs().mean() < 0.6 * (noise - photo).abs().mean()
    assert set(result.history) == {"content conv1_2", "total"}


def test_texture_synthesis_matches_grams_and_ignores_layout(net, painting):
    result = nst.synthesize_texture(painting, layers=["conv1_1", "conv2_1"], net=net, settings=TINY, progress=False)
    assert set(result.history) == {"style conv1_1", "style conv2_1", "total"}
    assert result.loss_drop > 0.5


def test_transfer_starts_from_the_content_and_reconstruction_from_noise(net, photo, painting):
    seen = {}
    nst.transfer(
        photo,
        painting,
        settings=TINY,
        net=net,
        steps=1,
        progress=False,
        callback=lambda step, losses, image: seen.setdefault("transfer", losses),
    )
    nst.reconstruct(
        photo,
        net=net,
        settings=TINY,
        steps=1,
        progress=False,
        callback=lambda step, losses, image: seen.setdefault("reconstruct", losses),
    )
    assert seen["transfer"]["content conv4_2"] < 0.1 * seen["reconstruct"]["content conv4_2"]


def test_adam_and_other_inits(net, photo, painting):
    for init in ("noise", "style"):
        r = nst.transfer(photo, painting, settings=TINY, net=net, optimizer="adam", init=init, steps=3, progress=False)
        assert r.history["total"][0] < 10
    start = nst.transfer(photo, painting, settings=TINY, net=net, init="content", steps=1, progress=False)
    assert start.best_step in (0, 1)


def test_coarse_to_fine_uses_the_same_loop(net, photo, painting):
    steps_seen = []
    result = nst.transfer(
        photo,
        painting,
        settings=TINY,
        net=net,
        scales=(24, 32),
        steps=6,
        progress=False,
        callback=lambda step, losses, image: steps_seen.append((step, image.shape[-1])),
    )
    assert [s for s, _ in steps_seen] == [1, 2, 3, 4, 5, 6]
    assert {w for s, w in steps_seen if s <= 3} == {24} and {w for s, w in steps_seen if s > 3} == {32}
    assert len(result.history["total"]) == 6 and result.image.shape == photo.shape


def test_ctrl_c_returns_the_best_image_so_far(net, photo, painting):
    images = []

    def interrupt(step, losses, image):
        images.append(image)
        if step == 4:
            raise KeyboardInterrupt

    result = nst.transfer(photo, painting, settings=TINY, net=net, callback=interrupt, progress=False)
    assert result.stopped == "interrupted" and result.steps_done == 4
    assert len(result.history["total"]) == 4
    assert result.best_step <= 4
    assert min(result.history["total"]) == pytest.approx(min(result.history["total"][: result.best_step + 1]))
    assert not torch.equal(result.image, torch.rand(photo.shape, generator=torch.Generator().manual_seed(0)))


def test_callback_returning_true_stops_early(net, photo, painting):
    result = nst.transfer(
        photo, painting, settings=TINY, net=net, progress=False, callback=lambda step, losses, image: step >= 2
    )
    assert result.stopped == "stopped" and result.steps_done == 2


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_image(net, photo):
    target = net(photo, ["conv1_1"])["conv1_1"]
    poisoned = {"from step": 4}

    class Poisoned(Objective):
        def __call__(self, features, image):
            terms = super().__call__(features, image)
            if poisoned.get("now"):
                terms["content conv1_1"] = terms["content conv1_1"] * float("nan")
            return terms

    def poison_after(step, losses, image):
        poisoned["now"] = step + 1 >= poisoned["from step"]

    objective = Poisoned(content_targets={"conv1_1": target})
    start = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    with pytest.raises(nst.OptimizationError, match="the loss became nan at step 4") as info:
        optimize(net, objective, start, steps=10, progress=False, callback=poison_after)
    kept = info.value.result
    # step 4 starts from an image that step 3's line search measured before the poison: 4 good losses
    assert kept.stopped == "error" and len(kept.history["total"]) == 4
    assert all(math.isfinite(v) for v in kept.history["total"])
    assert torch.isfinite(kept.image).all() and not torch.equal(kept.image, start)


def test_images_too_small_for_the_deepest_layer_are_refused(net, photo):
    with pytest.raises(nst.NSTError, match=r"too small for conv5_1.*at least 16 px"):
        nst.synthesize_texture(photo, net=net, settings=TINY, size=20, progress=False)
    nst.synthesize_texture(photo, layers=["conv1_1"], net=net, settings=TINY, size=20, steps=1, progress=False)


def test_settings_are_validated_with_clear_messages():
    with pytest.raises(nst.NSTError, match="steps must be"):
        nst.Settings(steps=0)
    with pytest.raises(nst.NSTError, match="optimizer must be one of lbfgs, adam"):
        nst.Settings(optimizer="sgd")
    with pytest.raises(nst.NSTError, match="style_weight must be a finite number"):
        nst.Settings(style_weight=float("inf"))
    with pytest.raises(nst.NSTError, match="unknown layer 'conv4_9'"):
        nst.Settings(content_layers=("conv4_9",))
    with pytest.raises(nst.NSTError, match="2 values for 5 style layers"):
        nst.Settings(style_layer_weights=(1.0, 2.0))
    with pytest.raises(nst.NSTError, match="unknown setting"):
        nst.transfer("town", "swirls", colour=True)
