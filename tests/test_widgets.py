"""The explorers without a browser: the one runtime, then each declaration.

ipywidgets works without a kernel (its comms are dummies), so the widgets can be
built and their handlers called here; the browser suite checks what a learner sees.
The runtime is tested with a stand-in run whose every step is known; each
declaration with the package's API recorded (what is called, with which
settings) and once for real on a tiny image.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from types import SimpleNamespace

import pytest
import torch

import nst_course as nst

ipywidgets = pytest.importorskip("ipywidgets")
from nst_course.course import widgets  # noqa: E402
from nst_course.course.widgets import explorers, runtime  # noqa: E402

TINY = nst.Settings(size=32, steps=3, seed=0)
TIMEOUT = 60
RANDOM = "random (untrained, seed 0) weights"


@pytest.fixture
def front_end(monkeypatch):
    """Pretend to be inside a Jupyter kernel with a widget front end."""
    monkeypatch.setattr(runtime, "front_end_available", lambda: True)


@pytest.fixture
def no_front_end(monkeypatch):
    monkeypatch.setattr(runtime, "front_end_available", lambda: False)


def photo():
    return nst.load_image("town", size=48)


def painting():
    return nst.load_image("swirls", size=48)


def finish(explorer):
    explorer.run_button.click()
    assert explorer.wait(TIMEOUT), "the run did not end"
    assert explorer.error is None, explorer.status.value
    return explorer.result


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# ---------------------------------------------------------------- the runtime, with a stand-in run


def frame(step: int) -> torch.Tensor:
    """A different flat grey picture for every step."""
    return torch.full((1, 3, 8, 12), (step % 50) / 50)


def fake_result(steps_done: int, *, stopped: str = "finished", best_step: int | None = None) -> SimpleNamespace:
    best = best_step if best_step is not None else steps_done
    return SimpleNamespace(
        image=frame(best),
        history={"total": [10.0 / k for k in range(1, steps_done + 1)]},
        loss_drop=0.9,
        weights="random (untrained, seed 0)",
        stopped=stopped,
        steps_done=steps_done,
        best_step=best,
        seconds=0.5,
    )


class StandIn:
    """A run of ``settings.steps`` steps that stops when the callback asks, and records what it was shown."""

    def __init__(self, *, step_seconds: float = 0.0, best_step: int = 1, explorer_box: list | None = None) -> None:
        self.calls: list[tuple[nst.Settings, object]] = []
        self.previews: list[bytes] = []  # the explorer's preview right after each callback
        self.step_seconds = step_seconds
        self.best_step = best_step
        self.explorer_box = explorer_box if explorer_box is not None else []

    def __call__(self, settings, callback):
        self.calls.append((settings, callback))
        for step in range(1, settings.steps + 1):
            time.sleep(self.step_seconds)
            asked_to_stop = callback(step, {"total": 10.0 / step}, frame(step)) if callback else False
            if self.explorer_box:
                self.previews.append(bytes(self.explorer_box[0].preview.value))
            if asked_to_stop:
                return fake_result(step, stopped="stopped", best_step=min(self.best_step, step))
        return fake_result(settings.steps)


def declaration(run, **changes) -> widgets.Declaration:
    """A small explorer: one whole-number control ("steps") and a stand-in run."""
    fields = dict(
        kind="demo",
        title="A demo explorer",
        base=TINY,
        controls={"steps": widgets.Whole("steps", 3, 1, 500)},
        overrides=lambda c: {"steps": c["steps"]},
        run=run,
        caption=lambda cfg, r: f"Demo <{cfg.steps}> — {r.weights} weights",
        figures=lambda cfg, r: [nst.plotting.show_images([r.image])],
        target=lambda cfg: torch.zeros(1, 3, 8, 12),
    )
    return widgets.Declaration(**{**fields, **changes})


def explorer_for(run, **changes) -> widgets.Explorer:
    explorer = widgets.Explorer(declaration(run, **changes))
    if isinstance(run, StandIn):
        run.explorer_box.append(explorer)
    return explorer


def test_runtime_runs_the_declaration_and_shows_its_result():
    run = StandIn()
    explorer = explorer_for(run)
    assert run.calls == [] and explorer.result is None  # nothing runs until Run is pressed
    assert explorer._repr_mimebundle_()["text/plain"].startswith("A demo explorer")
    explorer.controls["steps"].value = 4
    result = finish(explorer)
    (settings, callback), *more = run.calls
    assert not more and callback is not None
    assert settings == dataclasses.replace(TINY, steps=4)
    assert result.steps_done == 4 and explorer.progress.value == 4 and explorer.progress.max == 4
    assert explorer.preview.value == runtime.png(result.image)
    assert explorer.caption.value == f"<b>Demo &lt;4&gt; — {RANDOM}</b>"
    assert explorer.status.value == "Done: 4 steps in 0.5 s."
    assert explorer.figures[0].value and explorer.figures[0].layout.display is None
    assert not explorer.run_button.disabled and explorer.stop_button.disabled
    assert "nst-explorer-demo" in explorer.widget._dom_classes


def test_runtime_preview_follows_the_run(monkeypatch):
    monkeypatch.setattr(runtime, "PREVIEW_INTERVAL", 0.0)
    run = StandIn()
    explorer = explorer_for(run)
    explorer.controls["steps"].value = 5
    finish(explorer)
    assert run.previews == [runtime.png(frame(step)) for step in range(1, 6)]


def test_runtime_preview_is_throttled_but_shows_the_last_step(monkeypatch):
    monkeypatch.setattr(runtime, "PREVIEW_INTERVAL", 3600.0)
    run = StandIn()
    explorer = explorer_for(run)
    placeholder = bytes(explorer.preview.value)
    explorer.controls["steps"].value = 4
    finish(explorer)
    first = runtime.png(frame(1))
    assert run.previews == [first, first, first, runtime.png(frame(4))]
    assert placeholder not in run.previews


def test_runtime_stop_ends_the_run_and_keeps_the_best_image(monkeypatch):
    monkeypatch.setattr(runtime, "PREVIEW_INTERVAL", 0.0)
    run = StandIn(step_seconds=0.005, best_step=1)
    explorer = explorer_for(run)
    explorer.controls["steps"].value = 500
    explorer.run_button.click()
    assert explorer.run_button.disabled and not explorer.stop_button.disabled
    wait_for(lambda: explorer.progress.value >= 2, "two steps")
    explorer.stop_button.click()
    assert explorer.wait(20), "Stop did not end the run"
    result = explorer.result
    assert result.stopped == "stopped" and 2 <= result.steps_done < 500
    kept = runtime.png(frame(1))  # the best image, not the last one shown
    assert explorer.preview.value == kept and run.previews[-1] != kept
    assert explorer.caption.value == (
        f"<b>Demo &lt;500&gt; — {RANDOM} — stopped at step {result.steps_done} of 500; "
        "the best image so far (step 1) is kept</b>"
    )
    assert explorer.progress.bar_style == "warning" and explorer.status.value.startswith("Stopped after")
    assert not explorer.run_button.disabled and explorer.stop_button.disabled
    time.sleep(0.3)
    assert explorer.preview.value == kept


def test_runtime_shows_an_error_as_one_line_and_run_comes_back():
    def broken(settings, callback):
        raise nst.NSTError("no such image file: 'nowhere.png'\nsecond line of detail")

    explorer = explorer_for(broken)
    explorer.run_button.click()
    assert explorer.wait(TIMEOUT)
    assert isinstance(explorer.error, nst.NSTError)
    assert explorer.status.value == (
        "<span style='color:#c62828'><b>Error:</b> no such image file: &#x27;nowhere.png&#x27;</span>"
    )
    assert explorer.caption.value == "" and explorer.progress.bar_style == "danger"
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_runtime_names_other_errors_and_keeps_the_last_good_image():
    def diverged(settings, callback):
        error = RuntimeError("the loss is nan\nat step 2")
        error.result = fake_result(1)
        raise error

    explorer = explorer_for(diverged)
    explorer.run_button.click()
    assert explorer.wait(TIMEOUT)
    assert "<b>Error:</b> RuntimeError: the loss is nan</span>" in explorer.status.value
    assert explorer.preview.value == runtime.png(frame(1)) and explorer.result.steps_done == 1


def test_runtime_reports_a_bad_choice_before_running():
    run = StandIn()
    explorer = explorer_for(run, overrides=lambda c: {"size": 8 * c["steps"]})
    explorer.controls["steps"].value = 1  # 8 px: Settings refuses it
    explorer.run()
    assert explorer._thread is None and run.calls == [] and isinstance(explorer.error, nst.NSTError)
    assert "size must be" in explorer.status.value
    explorer = explorer_for(run, overrides=lambda c: {"steps": c["steps"]} if c["steps"] < 9 else {"stepz": 9})
    explorer.controls["steps"].value = 9
    explorer.run()
    assert "unknown setting(s) stepz" in explorer.status.value and run.calls == []


def test_runtime_without_a_front_end_prints_a_note_and_runs_the_starting_choice_once(no_front_end, capsys):
    run = StandIn()
    out = widgets.explore(declaration(run, controls={"steps": widgets.Whole("steps", 2, 1, 500)}))
    printed = capsys.readouterr().out
    assert printed.splitlines() == [runtime.NO_FRONT_END, f"Demo <2> — {RANDOM}"]
    assert run.calls == [(dataclasses.replace(TINY, steps=2), None)]
    assert isinstance(out, widgets.PlainRun) and str(out) == f"Demo <2> — {RANDOM}"
    assert out.result.steps_done == 2 and "<img" in out._repr_html_()


def test_importing_nst_course_does_not_import_ipywidgets():
    import subprocess
    import sys

    code = "import sys, nst_course, nst_course.course.widgets; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_front_end_is_not_available_outside_a_kernel():
    assert runtime.front_end_available() is False


# ---------------------------------------------------------------- controls


def test_style_layer_sets_grow_to_the_papers_five():
    assert widgets.STYLE_LAYER_SETS[0] == nst.STYLE_LAYERS[:1] == ("relu1_1",)
    assert widgets.STYLE_LAYER_SETS[-1] == nst.STYLE_LAYERS
    assert [len(s) for s in widgets.STYLE_LAYER_SETS] == [1, 2, 3, 4, 5]


def test_layer_set_presets_and_hand_picked_layers_agree():
    picker, _view = widgets.LayerSet("style").build(ipywidgets)
    labels = [label for label, _ in picker.preset.options]
    assert labels[:2] == ["relu1_1", "relu1_1 + relu2_1"] and labels[-1] == "(your choice)" and len(labels) == 6
    assert picker.value == nst.STYLE_LAYERS and picker.preset.value == nst.STYLE_LAYERS
    picker.value = ("conv1_1", "relu3_1")  # by hand
    assert picker.preset.value == () and "conv1_1 + relu3_1" in picker.note.value
    picker.preset.value = nst.STYLE_LAYERS[:2]  # a preset selects its layers
    assert picker.value == nst.STYLE_LAYERS[:2]
    with pytest.raises(nst.NSTError, match="choose at least one layer for the style"):
        widgets.LayerSet("style").read(())


# ---------------------------------------------------------------- each declaration, with the API recorded


def record(monkeypatch, name: str) -> list:
    """Replace ``explorers.<name>`` (reconstruct, synthesize_texture, transfer) by a recorder."""
    calls = []

    def recorder(*args, **kwargs):
        calls.append((args, kwargs))
        kwargs["callback"](1, {"total": 10.0}, frame(1))
        return fake_result(kwargs["settings"].steps)

    monkeypatch.setattr(explorers, name, recorder)
    return calls


def test_reconstruction_declaration_runs_reconstruct_with_the_chosen_layer(front_end, net, monkeypatch):
    calls = record(monkeypatch, "reconstruct")
    base = dataclasses.replace(TINY, style_weight=7.0)
    explorer = widgets.reconstruction_explorer(photo(), net, settings=base)
    assert calls == []
    assert list(explorer.controls["layer"].options) == list(nst.LAYER_NAMES)
    explorer.controls["layer"].value = "conv3_2"
    explorer.controls["steps"].value = 4
    finish(explorer)
    ((args, kwargs),) = calls
    assert len(args) == 1 and torch.equal(args[0], photo())
    assert kwargs["settings"] == dataclasses.replace(base, content_layers=("conv3_2",), steps=4)
    assert tuple(kwargs["layer"]) == ("conv3_2",)
    assert kwargs["net"] is net and kwargs["progress"] is False
    assert explorer.caption.value == f"<b>Reconstruction from conv3_2 — {RANDOM} — loss fell 90%</b>"
    assert explorer.target.value == runtime.png(nst.resize(photo(), 32))


def test_texture_declaration_runs_synthesize_texture_with_the_chosen_layers(front_end, net, monkeypatch):
    calls = record(monkeypatch, "synthesize_texture")
    base = dataclasses.replace(TINY, style_layer_weights=(1.0, 2.0, 3.0, 4.0, 5.0))
    explorer = widgets.texture_explorer(painting(), net, settings=base)
    chosen = nst.STYLE_LAYERS[:2]
    explorer.controls["layers"].preset.value = chosen
    explorer.controls["size"].value = 48
    finish(explorer)
    ((args, kwargs),) = calls
    assert len(args) == 1 and torch.equal(args[0], painting())
    assert kwargs["settings"] == dataclasses.replace(base, style_layers=chosen, style_layer_weights=None, size=48)
    assert tuple(kwargs["layers"]) == chosen and kwargs["net"] is net and kwargs["progress"] is False
    assert explorer.caption.value == f"<b>Texture from relu1_1 + relu2_1 — {RANDOM} — loss fell 90%</b>"
    assert explorer.target.value == runtime.png(nst.resize(painting(), 48))


def test_transfer_declaration_runs_transfer_with_the_chosen_weight_and_layers(front_end, net, monkeypatch):
    calls = record(monkeypatch, "transfer")
    base = dataclasses.replace(TINY, content_weight=2.0, style_layer_weights=(1.0, 1.0, 1.0, 1.0, 1.0))
    explorer = widgets.transfer_explorer(photo(), painting(), net, settings=base)
    explorer.controls["style_weight"].value = 100.0
    explorer.controls["content_layer"].value = "conv2_2"
    explorer.controls["style_layers"].value = ("conv1_1", "conv3_1")
    assert explorer.controls["style_layers"].preset.value == ()
    finish(explorer)
    ((args, kwargs),) = calls
    assert len(args) == 2 and torch.equal(args[0], photo()) and torch.equal(args[1], painting())
    assert kwargs["settings"] == dataclasses.replace(
        base,
        style_weight=100.0,
        content_layers=("conv2_2",),
        style_layers=("conv1_1", "conv3_1"),
        style_layer_weights=None,
    )
    assert kwargs["net"] is net and kwargs["progress"] is False
    assert explorer.caption.value == (
        f"<b>Transfer with style weight β = 100 (α = 2), content conv2_2, style conv1_1 + conv3_1 — "
        f"{RANDOM} — loss fell 90%</b>"
    )
    assert len(explorer.figures) == 2 and all(figure.value for figure in explorer.figures)


def test_settings_give_the_starting_choice(front_end, net):
    cfg = nst.Settings(
        size=64, steps=7, content_layers=("conv2_2",), style_layers=("conv1_1", "conv2_1"), style_weight=100.0
    )
    rec = widgets.reconstruction_explorer(photo(), net, settings=cfg)
    assert (rec.controls["layer"].value, rec.controls["steps"].value, rec.controls["size"].value) == ("conv2_2", 7, 64)
    tex = widgets.texture_explorer(painting(), net, settings=cfg)
    assert tex.controls["layers"].value == ("conv1_1", "conv2_1")
    tra = widgets.transfer_explorer(photo(), painting(), net, settings=cfg)
    assert tra.controls["style_weight"].value == pytest.approx(100.0)
    assert tra.controls["content_layer"].value == "conv2_2"
    assert tra.controls["style_layers"].value == ("conv1_1", "conv2_1")


def test_drop_text_never_says_a_hundred_percent():
    def says(drop):
        return explorers.drop_text(SimpleNamespace(loss_drop=drop))

    assert [says(0.5), says(0.995), says(0.99996)] == [
        "loss fell 50%",
        "loss fell 99.50%",
        "loss fell more than 99.99%",
    ]


# ---------------------------------------------------------------- each declaration, for real on a tiny image


def test_reconstruction_explorer_runs_for_real(front_end, net):
    image = photo()
    copy = image.clone()
    explorer = widgets.reconstruction_explorer(image, net, settings=TINY)
    before = explorer.preview.value
    explorer.controls["layer"].value = "relu2_1"
    result = finish(explorer)
    assert result.settings["content_layers"] == ("relu2_1",) and result.steps_done == 3
    assert explorer.preview.value != before and explorer.preview.value == runtime.png(result.image)
    caption = explorer.caption.value
    assert caption.startswith(f"<b>Reconstruction from relu2_1 — {RANDOM} — loss fell ")
    assert torch.equal(image, copy)  # the caller's image is not changed


def test_stop_keeps_the_best_image_of_a_real_run(front_end, net):
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    explorer.controls["steps"].value = 200
    explorer.run_button.click()
    wait_for(lambda: explorer.progress.value >= 2, "two steps")
    explorer.stop_button.click()
    assert explorer.wait(TIMEOUT)
    result = explorer.result
    assert result.stopped == "stopped" and 2 <= result.steps_done < 200
    assert explorer.preview.value == runtime.png(result.image)
    assert "stopped at step" in explorer.caption.value and nst.CONTENT_LAYER in explorer.caption.value


def test_texture_and_transfer_explorers_run_for_real(front_end, net):
    tex = widgets.texture_explorer(painting(), net, settings=TINY)
    tex.controls["layers"].preset.value = ("relu1_1", "relu2_1")
    assert finish(tex).settings["style_layers"] == ("relu1_1", "relu2_1")
    assert "Texture from relu1_1 + relu2_1 —" in tex.caption.value
    tra = widgets.transfer_explorer(photo(), painting(), net, settings=TINY)
    tra.controls["content_layer"].value = "conv2_2"
    tra.controls["style_layers"].value = ("conv1_1",)
    result = finish(tra)
    assert set(result.history) == {"content conv2_2", "style conv1_1", "total"}
    assert "content conv2_2, style conv1_1 —" in tra.caption.value


def test_a_new_explorer_is_one_declaration(front_end, net):
    """Style weight against the layer set (the paper's Fig. 4), declared in a few lines."""
    content, style = photo(), painting()
    explorer = widgets.explore(
        widgets.Declaration(
            kind="fig4",
            title="Style weight and layers",
            base=TINY,
            controls={"beta": widgets.LogNumber("style β", 10.0, -2, 4), "layers": widgets.LayerSet("style")},
            overrides=lambda c: {"style_weight": c["beta"], "style_layers": c["layers"], "style_layer_weights": None},
            run=lambda cfg, callback: nst.transfer(content, style, settings=cfg, net=net, callback=callback),
            caption=lambda cfg, r: f"β = {cfg.style_weight:.3g}, style {' + '.join(cfg.style_layers)}",
            figures=lambda cfg, r: [nst.plotting.show_images([r.image])],
            target=lambda cfg: nst.resize(content, cfg.size),
        )
    )
    explorer.controls["layers"].preset.value = ("relu1_1",)
    result = finish(explorer)
    assert result.settings["style_weight"] == 10.0 and result.settings["style_layers"] == ("relu1_1",)
    assert explorer.caption.value == "<b>β = 10, style relu1_1</b>"


def test_feature_maps_explorer_caption_follows_the_layer(front_end, net):
    explorer = widgets.feature_maps_explorer(photo(), net)
    first = explorer.figure.value
    assert explorer.caption.value == f"<b>relu1_1: 64 feature maps of 33×48 — {RANDOM}</b>"
    explorer.layer.value = "conv3_1"
    assert explorer.caption.value == f"<b>conv3_1: 256 feature maps of 8×12 — {RANDOM}</b>"
    assert explorer.figure.value != first
    assert explorer._repr_mimebundle_()["text/plain"].startswith("Feature maps explorer")


def test_feature_maps_explorer_compares_two_layers_orders_maps_and_changes_image(front_end, net):
    explorer = widgets.feature_maps_explorer(photo(), net, layer="relu1_1", compare="relu3_1")
    assert explorer.caption.value.startswith("<b>relu1_1: 64 feature maps of 33×48 — ") and "| relu3_1: 256" in (
        explorer.caption.value
    )
    assert explorer.second.value and explorer.second.layout.display is None
    by_energy = explorer.figure.value
    explorer.order.value = "index"
    assert explorer.figure.value != by_energy
    explorer.compare.value = "(none)"
    assert explorer.second.layout.display == "none" and "|" not in explorer.caption.value
    before = explorer.figure.value
    explorer.source.value = "swirls"
    assert explorer.figure.value != before and "Error" not in explorer.caption.value
    with pytest.raises(nst.NSTError, match="order must be one of energy, index"):
        widgets.feature_maps_explorer(photo(), net, order="size")


def test_maps_are_ordered_by_energy():
    features = torch.rand(1, 5, 3, 4)
    features[0, 3] *= 10
    features[0, 1] *= 0
    order = widgets.ordered_channels(features)
    assert order[0] == 3 and order[-1] == 1 and sorted(order) == list(range(5))
    energy = features[0].pow(2).flatten(1).sum(1)
    assert all(energy[a] >= energy[b] for a, b in itertools.pairwise(order))


def test_without_a_front_end_each_explorer_prints_a_note_and_runs_once(no_front_end, net, capsys):
    out = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    printed = capsys.readouterr().out
    assert runtime.NO_FRONT_END in printed and f"Reconstruction from {nst.CONTENT_LAYER}" in printed
    assert isinstance(out, widgets.PlainRun) and out.result.steps_done == 3
    tex = widgets.texture_explorer(painting(), net, settings=TINY)
    assert tex.result.settings["style_layers"] == nst.STYLE_LAYERS
    tra = widgets.transfer_explorer(photo(), painting(), net, settings=TINY)
    assert len(tra.figures) == 2
    maps = widgets.feature_maps_explorer(photo(), net, layer="conv2_1", compare="relu5_1")
    assert str(maps) == f"conv2_1: 128 feature maps of 16×24 — {RANDOM} | relu5_1: 512 feature maps of 2×3 — {RANDOM}"
    assert len(maps.figures) == 2


# ---------------------------------------------------------------- the channel explorer (what a channel looks for)

from nst_course.engine.featurevis import VisSettings  # noqa: E402

TINY_VIS = VisSettings(size=32, steps=3)


def test_channel_explorer_visualises_the_chosen_channel_and_shows_its_map(front_end, net):
    explorer = widgets.channel_explorer(net, image=photo(), layer="relu2_1", channel=4, settings=TINY_VIS)
    explorer.controls["layer"].value = "relu1_1"
    explorer.controls["channel"].value = 7
    result = finish(explorer)
    assert result.extra == {"layer": "relu1_1", "units": ["channel 7"]} and result.steps_done == 3
    assert explorer.preview.value == runtime.png(result.image)
    choice = widgets.ChannelChoice("relu1_1", 7, TINY_VIS)
    assert explorer.target.value == runtime.png(widgets.channel_map(net, photo(), choice))
    assert explorer.caption.value.startswith(f"<b>relu1_1 channel 7 — {RANDOM} — mean activation ")


def test_channel_map_is_the_channels_response_scaled_to_its_maximum(net):
    image = photo()
    shown = widgets.channel_map(net, image, widgets.ChannelChoice("relu1_1", 3, TINY_VIS))
    fmap = net(nst.resize(image, 32), ["relu1_1"])["relu1_1"][0, 3]
    assert shown.shape == (1, 3, *nst.resize(image, 32).shape[-2:])
    assert torch.allclose(shown[0, 0], fmap / fmap.max(), atol=1e-6)


def test_channel_explorer_refuses_a_channel_the_layer_lacks_before_running(front_end, net):
    explorer = widgets.channel_explorer(net, image=photo(), layer="relu1_1", settings=TINY_VIS)
    explorer.controls["channel"].value = 100
    explorer.run_button.click()
    assert explorer.result is None and "relu1_1 has channels 0 to 63" in explorer.status.value
