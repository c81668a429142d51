"""The one optimisation loop, the objective it minimises, and the three tasks built on it."""

from __future__ import annotations

import dataclasses
import math
import urllib.request

import pytest
import torch

import nst_course as nst
from nst_course.engine.loop import optimize
from nst_course.engine.losses import NORMALIZATIONS, content_loss, gram_matrix, layer_style_loss, tv_loss
from nst_course.engine.objective import Objective
from nst_course.engine.settings import replace_settings

TINY = nst.Settings(size=32, steps=12)
CONTENT = f"content {nst.CONTENT_LAYER}"


@pytest.fixture(scope="module")
def photo():
    return nst.load_image("town", size=32)


@pytest.fixture(scope="module")
def painting():
    return nst.load_image("swirls", size=32)


@pytest.fixture(scope="module")
def start(photo):
    """A start image that is neither input, so that every term is non-zero."""
    return torch.rand(photo.shape, generator=torch.Generator().manual_seed(42))


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
    assert result.best_loss < 0.5 * total[0]
    assert result.loss_drop == pytest.approx(1 - result.best_loss / total[0])
    assert result.image.shape == photo.shape
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert set(result.history) == {CONTENT, "total"} | {f"style {n}" for n in nst.STYLE_LAYERS}
    assert [s for s, _, _ in seen] == list(range(1, 13))
    assert all(img.min() >= 0.0 and img.max() <= 1.0 for _, _, img in seen)
    assert result.weights == "random (untrained, seed 0)"
    assert result.settings["style_weight"] == TINY.beta == 3.0 and result.settings["seed"] == 0


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_each_recorded_term_is_weight_times_share_times_the_layers_loss(net, photo, painting, start, normalization):
    """What the loop records (and sums) is alpha * L_c, beta * w_l * E_l and tv_weight * TV, exactly."""
    shares = (0.1, 0.2, 0.3, 0.15, 0.25)
    cfg = dataclasses.replace(
        TINY,
        steps=1,
        normalization=normalization,
        content_weight=2.5,
        style_weight=7.0,
        style_layer_weights=shares,
        tv_weight=0.5,
    )
    result = nst.transfer(photo, painting, settings=cfg, net=net, init_image=start, progress=False)
    first = {name: values[0] for name, values in result.history.items()}
    at_start = net(start, [nst.CONTENT_LAYER, *nst.STYLE_LAYERS])
    target = net(photo, [nst.CONTENT_LAYER])[nst.CONTENT_LAYER]
    expected = {CONTENT: 2.5 * float(content_loss(at_start[nst.CONTENT_LAYER], target, normalization=normalization))}
    style_features = net(painting, nst.STYLE_LAYERS)
    for name, share in zip(nst.STYLE_LAYERS, shares, strict=True):
        gram = gram_matrix(style_features[name])
        expected[f"style {name}"] = (
            7.0 * share * float(layer_style_loss(at_start[name], gram, normalization=normalization))
        )
    expected["tv"] = 0.5 * float(tv_loss(start))
    expected["total"] = sum(expected.values())
    assert all(value > 0 for value in expected.values())
    assert first == pytest.approx(expected, rel=1e-4)


def test_without_layer_weights_each_style_layer_gets_one_over_l(net, painting, start):
    layers = ("conv1_1", "conv3_1")
    result = nst.synthesize_texture(painting, layers=layers, settings=TINY, net=net, steps=1, progress=False)
    objective = Objective(style_targets={n: gram_matrix(v) for n, v in net(painting, layers).items()}, style_weight=3.0)
    assert objective.style_share("conv1_1") == 0.5
    noise = torch.rand((1, 3, *painting.shape[-2:]), generator=torch.Generator().manual_seed(0))
    feats = net(noise, layers)
    for name in layers:
        loss = layer_style_loss(feats[name], objective.style_targets[name])
        assert result.history[f"style {name}"][0] == pytest.approx(3.0 * 0.5 * float(loss), rel=1e-4)


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


def test_texture_synthesis_counts_only_style_terms_and_keeps_its_distance_from_the_painting(net, painting):
    result = nst.synthesize_texture(painting, layers=["conv1_1", "conv2_1"], net=net, settings=TINY, progress=False)
    assert set(result.history) == {"style conv1_1", "style conv2_1", "total"}
    assert result.loss_drop > 0.5
    # it matches statistics, not pixels: the texture is no closer to the painting than a blur of it
    blurred = torch.nn.functional.avg_pool2d(painting, 9, stride=1, padding=4, count_include_pad=False)
    assert (result.image - painting).abs().mean() > (blurred - painting).abs().mean()


def test_each_start_image_is_the_one_asked_for(net, photo, painting):
    first = {}
    for init in ("content", "style", "noise"):
        nst.transfer(
            photo,
            painting,
            settings=TINY,
            net=net,
            init=init,
            steps=1,
            progress=False,
            callback=lambda step, losses, image, init=init: first.setdefault(init, losses),
        )
    assert first["content"][CONTENT] == 0.0  # the start is the photo itself
    # the start is the painting (resized to the photo's shape, so not exactly its own Gram matrices)
    first_style = f"style {nst.STYLE_LAYERS[0]}"
    assert first["style"][first_style] < 0.05 * first["content"][first_style]
    assert first["noise"][CONTENT] > 0.1  # noise is far from the photo


def test_adam_lowers_the_loss_too(net, photo, painting):
    result = nst.transfer(
        photo, painting, settings=TINY, net=net, optimizer="adam", init="noise", steps=5, progress=False
    )
    assert result.best_loss < result.history["total"][0]
    assert result.settings["optimizer"] == "adam"


def test_paper_normalisation_moves_the_pixels_on_untrained_weights(net):
    """Its content term is an unnormalised sum of squares: with beta = 3 a transfer from the photo stays put."""
    photo = nst.load_image("town", size=64)
    settings = nst.Settings(size=64, steps=15, normalization="paper")
    assert settings.beta == 1e4 and settings.as_dict()["style_weight"] == 1e4
    result = nst.transfer(photo, "swirls", settings=settings, net=net, progress=False)
    assert (result.image - photo).abs().mean() > 0.03
    assert result.loss_drop > 0.2
    assert result.settings["style_weight"] == 1e4, "the record names the weight actually used"


def test_best_step_and_best_loss_describe_the_kept_image(net, photo, painting):
    images = {0: photo}
    result = nst.transfer(
        photo,
        painting,
        settings=TINY,
        net=net,
        steps=6,
        progress=False,
        callback=lambda step, losses, image: images.__setitem__(step, image),
    )
    assert torch.equal(result.image, images[result.best_step])
    again = Objective(
        content_targets=net(photo, [nst.CONTENT_LAYER]),
        style_targets={n: gram_matrix(v) for n, v in net(painting, nst.STYLE_LAYERS).items()},
        style_weight=TINY.beta,
    )
    with torch.no_grad():
        measured = sum(again(net(result.image, again.layers), result.image).values())
    assert float(measured) == pytest.approx(result.best_loss, rel=1e-4)
    assert result.best_loss <= min(result.history["total"])


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
    assert result.steps_done == 6 and 3 <= result.best_step <= 6
    assert result.metadata()["nst-course:result"]["scales"] == [24, 32]


def test_ctrl_c_returns_the_best_image_so_far(net, photo, painting):
    images = {0: photo}

    def interrupt(step, losses, image):
        images[step] = image
        if step == 4:
            raise KeyboardInterrupt

    result = nst.transfer(photo, painting, settings=TINY, net=net, callback=interrupt, progress=False)
    assert result.stopped == "interrupted" and result.steps_done == 4
    assert len(result.history["total"]) == 4
    assert 1 <= result.best_step <= 3, "the loss fell over the first steps"
    assert torch.equal(result.image, images[result.best_step])
    assert result.best_loss == min(result.history["total"])


def test_callback_returning_true_stops_early(net, photo, painting):
    result = nst.transfer(
        photo, painting, settings=TINY, net=net, progress=False, callback=lambda step, losses, image: step >= 2
    )
    assert result.stopped == "stopped" and result.steps_done == 2


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_image(net, photo):
    target = net(photo, ["conv1_1"])["conv1_1"]
    poisoned = {"now": False}

    class Poisoned(Objective):
        def __call__(self, features, image):
            terms = super().__call__(features, image)
            if poisoned["now"]:
                terms["content conv1_1"] = terms["content conv1_1"] * float("nan")
            return terms

    def poison_from_step_4(step, losses, image):
        poisoned["now"] = step >= 3

    objective = Poisoned(content_targets={"conv1_1": target})
    start = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    with pytest.raises(nst.OptimizationError, match="the loss became nan at step 4") as info:
        optimize(net, objective, start, steps=10, progress=False, callback=poison_from_step_4)
    kept = info.value.result
    # step 4 starts from an image that step 3's line search measured before the poison: 4 good losses
    assert kept.stopped == "error" and len(kept.history["total"]) == 4
    assert all(math.isfinite(value) for value in kept.history["total"])
    assert torch.isfinite(kept.image).all() and not torch.equal(kept.image, start)


def test_a_learners_own_objective_runs_in_the_same_loop(net, photo):
    """Any callable with a ``layers`` attribute that returns named terms will do."""
    target = net(photo, ["conv2_1"])["conv2_1"]

    class Mine:
        layers = ("conv2_1",)

        def __call__(self, features, image):
            return {"mine": ((features["conv2_1"] - target) ** 2).mean()}

    start = torch.rand(photo.shape, generator=torch.Generator().manual_seed(3))
    result = optimize(net, Mine(), start, steps=5, progress=False)
    assert set(result.history) == {"mine", "total"} and result.best_loss < 0.5 * result.history["total"][0]
    assert result.network == net.describe()


def test_optimize_takes_the_loops_options_and_refuses_others_in_one_line(net, photo):
    objective = Objective(content_targets={"relu1_1": net(photo, ["relu1_1"])["relu1_1"]})
    with pytest.raises(nst.NSTError, match=r"no option\(s\) stepz; its options are steps, optimizer") as refused:
        optimize(net, objective, photo, stepz=3, progress=False)
    assert "\n" not in str(refused.value)
    result = optimize(net, objective, photo, steps=2, optimizer="adam", progress=False)
    assert result.settings == {
        "steps": 2,
        "optimizer": "adam",
        "learning_rate": 1.0,
        "stop_tolerance": 0.0,
        "stop_window": 20,
    }


@pytest.mark.parametrize("task", ["reconstruct", "synthesize_texture", "transfer", "run"])
def test_every_task_takes_the_same_run_context(task, photo, painting):
    """weights=, pooling=, callback=, progress= and a setting reach the run the same way in every task."""
    steps = []
    images = {"reconstruct": (photo,), "synthesize_texture": (painting,), "transfer": (photo, painting), "run": ()}
    inputs = {"content": photo, "style": painting} if task == "run" else {}
    result = getattr(nst, task)(
        *images[task],
        **inputs,
        settings=TINY,
        weights="random",
        pooling="max",
        callback=lambda step, losses, image: steps.append(step),
        progress=False,
        steps=2,
    )
    assert result.network["pooling"] == "max" and result.network["kind"] == "random"
    assert steps == [1, 2] and result.steps_done == 2 and result.settings["steps"] == 2


def test_a_parametrisation_is_what_the_loop_moves_and_the_image_what_it_measures(net, photo):
    """``image_of``: the loop moves any tensor (here one that sigmoid maps to the image), unclamped."""
    target = net(photo, ["relu1_1"])["relu1_1"]

    class Mine:
        layers = ("relu1_1",)

        def __call__(self, features, image):
            return {"mine": ((features["relu1_1"] - target) ** 2).mean()}

    start = torch.full(photo.shape, -4.0)  # far outside [0, 1]: a clamp would make it 0
    seen = []
    result = optimize(
        net,
        Mine(),
        start,
        steps=3,
        optimizer="adam",
        learning_rate=0.1,
        progress=False,
        image_of=torch.sigmoid,
        callback=lambda step, losses, image: seen.append(image),
    )
    first = Mine()(net(torch.sigmoid(start), ["relu1_1"]), None)["mine"]
    assert result.history["total"][0] == pytest.approx(float(first), rel=1e-5)
    assert all(float(image.min()) > 0.0 and float(image.max()) < 0.05 for image in seen)  # sigmoid(-4) = 0.018
    assert result.best_loss < result.history["total"][0]
    assert "image_of" not in result.settings


def test_images_too_small_for_the_deepest_layer_are_refused(net, photo):
    with pytest.raises(nst.NSTError, match=rf"too small for {nst.STYLE_LAYERS[-1]}.*at least 16 px"):
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
    with pytest.raises(nst.NSTError, match="style_layer_weights must be finite numbers >= 0"):
        nst.Settings(style_layer_weights=(1.0, -2.0, 0.0, 0.0, 0.0))
    with pytest.raises(nst.NSTError, match="unknown setting"):
        nst.transfer("town", "swirls", colour=True)
    with pytest.raises(nst.NSTError, match=r"unknown setting\(s\) pooling"):
        replace_settings(None, {"pooling": "max"})  # the network describes itself: transfer(pooling=...)


# --- what a result records is true ------------------------------------------------------------


@pytest.fixture
def no_downloads(monkeypatch):
    """Fail the test if anything tries the network."""
    import torch.hub

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "urlopen", refuse, raising=False)
    return attempts


def test_the_weights_variable_reaches_the_python_api(monkeypatch, no_downloads, tmp_path):
    monkeypatch.setenv("NST_COURSE_WEIGHTS", "random")
    result = nst.transfer("town", "swirls", size=32, steps=2, progress=False)
    assert result.network["kind"] == "random" and no_downloads == []
    path = nst.export_weights(nst.load_vgg19(weights="random", seed=4), tmp_path / "class.pth")
    monkeypatch.setenv("NST_COURSE_WEIGHTS", str(path))
    result = nst.transfer("town", "swirls", size=32, steps=2, progress=False)
    saved = nst.read_metadata(result.save(tmp_path / "out.png"))
    assert saved["nst-course:network"]["kind"] == "file" and "class.pth" in saved["nst-course:weights"]
    assert "seed 4" in saved["nst-course:weights"] and no_downloads == []


def test_saved_records_name_the_network_actually_used(tmp_path, photo, painting):
    mx = nst.load_vgg19(weights="random", pooling="max", seed=2)
    result = nst.transfer(photo, painting, settings=TINY, net=mx, steps=1, progress=False)
    saved = nst.read_metadata(result.save(tmp_path / "max.png"))
    assert saved["nst-course:network"] == {
        "weights": "random (untrained, seed 2)",
        "kind": "random",
        "pretrained": False,
        "pooling": "max",
    }
    assert "weights" not in saved["nst-course:settings"] and "pooling" not in saved["nst-course:settings"]
    assert saved["nst-course:result"]["final_loss"] == pytest.approx(result.best_loss)


def test_building_the_network_for_a_run_and_passing_one_do_not_mix(net, photo, painting):
    built = nst.transfer(photo, painting, settings=TINY, weights="random", pooling="max", steps=1, progress=False)
    assert built.network["pooling"] == "max" and built.network["kind"] == "random"
    with pytest.raises(nst.NSTError, match="either a loaded network"):
        nst.transfer(photo, painting, settings=TINY, net=net, pooling="max", steps=1, progress=False)
