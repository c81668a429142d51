"""The explorers' logic without a browser: build, choose, run, stop, fail, fall back.

ipywidgets works without a kernel (its comms are dummies), so the widgets can be
built and their handlers called here; the browser suite checks what a learner sees.
"""

from __future__ import annotations

import pytest
import torch

import nst_course as nst

ipywidgets = pytest.importorskip("ipywidgets")
from nst_course import widgets  # noqa: E402

TINY = nst.Settings(size=32, steps=3, seed=0)
TIMEOUT = 60


@pytest.fixture
def front_end(monkeypatch):
    """Pretend to be inside a Jupyter kernel with a widget front end."""
    monkeypatch.setattr(widgets, "_front_end_available", lambda: True)


@pytest.fixture
def no_front_end(monkeypatch):
    monkeypatch.setattr(widgets, "_front_end_available", lambda: False)


def photo():
    return nst.load_image("town", size=48)


def painting():
    return nst.load_image("swirls", size=48)


def finish(explorer):
    explorer.run_button.click()
    assert explorer.wait(TIMEOUT), "the run did not end"
    assert explorer.error is None, explorer.status.value
    return explorer.result


def test_importing_nst_course_does_not_import_ipywidgets():
    import subprocess
    import sys

    code = "import sys, nst_course; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_front_end_is_not_available_outside_a_kernel():
    assert widgets._front_end_available() is False


def test_style_layer_sets_grow_to_the_papers_five():
    assert widgets.STYLE_LAYER_SETS[0] == ("conv1_1",)
    assert widgets.STYLE_LAYER_SETS[-1] == nst.STYLE_LAYERS
    assert [len(s) for s in widgets.STYLE_LAYER_SETS] == [1, 2, 3, 4, 5]


def test_feature_maps_explorer_caption_follows_the_layer(front_end, net):
    explorer = widgets.feature_maps_explorer(photo(), net)
    first = explorer.figure.value
    assert "conv1_1" in explorer.caption.value and "64 feature maps" in explorer.caption.value
    assert str(net.weights) in explorer.caption.value
    explorer.layer.value = "conv3_1"
    assert "conv3_1" in explorer.caption.value and "256 feature maps of 8×12" in explorer.caption.value
    assert explorer.figure.value != first
    assert explorer._repr_mimebundle_()["text/plain"].startswith("Feature maps explorer")


def test_nothing_runs_until_run_is_pressed(front_end, net, monkeypatch):
    calls = []
    monkeypatch.setattr(widgets, "reconstruct", lambda *a, **k: calls.append(1))
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Feature reconstruction")
    assert calls == [] and explorer.result is None


def test_reconstruction_explorer_runs_the_chosen_layer(front_end, net):
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    assert explorer.controls["layer"].value == "conv4_2"
    assert explorer.controls["steps"].value == 3 and explorer.controls["size"].value == 32
    before = explorer.preview.value
    explorer.controls["layer"].value = "conv3_2"
    explorer.controls["steps"].value = 4
    result = finish(explorer)
    assert result.settings["content_layers"] == ("conv3_2",)
    assert result.steps_done == 4 and explorer.progress.value == 4 and explorer.progress.max == 4
    assert explorer.preview.value != before
    assert explorer.preview.value == widgets._png(result.image)
    caption = explorer.caption.value
    assert "Reconstruction from conv3_2" in caption and "random (untrained, seed 0) weights" in caption
    assert "loss fell" in caption
    assert explorer.figures[0].value and explorer.figures[0].layout.display is None
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_settings_give_the_defaults(front_end, net):
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


def test_texture_explorer_runs_the_chosen_layer_set(front_end, net):
    explorer = widgets.texture_explorer(painting(), net, settings=TINY)
    preset, chosen = explorer.controls["preset"], explorer.controls["layers"]
    labels = [label for label, _ in preset.options]
    assert labels[:2] == ["conv1_1", "conv1_1 + conv2_1"] and labels[-1] == "(your choice)" and len(labels) == 6
    assert chosen.value == nst.STYLE_LAYERS and preset.value == nst.STYLE_LAYERS
    chosen.value = ("conv1_1", "relu3_1")  # by hand
    assert preset.value == ()
    preset.value = ("conv1_1", "conv2_1")  # a preset selects its layers
    assert chosen.value == ("conv1_1", "conv2_1")
    before = explorer.preview.value
    result = finish(explorer)
    assert result.settings["style_layers"] == ("conv1_1", "conv2_1")
    assert explorer.preview.value != before
    assert "Texture from conv1_1 + conv2_1 —" in explorer.caption.value


def test_transfer_explorer_runs_the_chosen_weight_and_layers(front_end, net):
    explorer = widgets.transfer_explorer(photo(), painting(), net, settings=TINY)
    explorer.controls["style_weight"].value = 100.0
    explorer.controls["content_layer"].value = "conv2_2"
    explorer.controls["style_layers"].value = ("conv1_1",)
    result = finish(explorer)
    assert result.settings["style_weight"] == pytest.approx(100.0)
    assert result.settings["content_layers"] == ("conv2_2",)
    assert set(result.history) == {"content conv2_2", "style conv1_1", "total"}
    caption = explorer.caption.value
    assert "β = 100" in caption and "content conv2_2" in caption and "style conv1_1 —" in caption
    assert all(figure.value for figure in explorer.figures)  # pictures and per-layer loss curves


def test_stop_keeps_the_best_image_so_far(front_end, net):
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    explorer.controls["steps"].value = 500
    explorer.run_button.click()
    assert explorer.run_button.disabled and not explorer.stop_button.disabled
    for _ in range(600):
        if explorer.progress.value >= 2:
            break
        explorer.wait(0.05)
    explorer.stop_button.click()
    assert explorer.wait(TIMEOUT)
    result = explorer.result
    assert result.stopped == "stopped" and 2 <= result.steps_done < 500
    assert explorer.preview.value == widgets._png(result.image)
    assert "stopped at step" in explorer.caption.value and "conv4_2" in explorer.caption.value
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_reconstruction_offers_every_layer_and_a_hand_picked_style(front_end, net):
    rec = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    assert list(rec.controls["layer"].options) == list(nst.LAYER_NAMES)
    rec.controls["layer"].value = "relu2_1"
    assert finish(rec).settings["content_layers"] == ("relu2_1",)
    assert "Reconstruction from relu2_1 —" in rec.caption.value
    tra = widgets.transfer_explorer(photo(), painting(), net, settings=TINY)
    tra.controls["style_layers"].value = ("conv1_1", "conv3_1")
    assert tra.controls["style_preset"].value == ()
    result = finish(tra)
    assert result.settings["style_layers"] == ("conv1_1", "conv3_1")
    assert "style conv1_1 + conv3_1 —" in tra.caption.value


def test_no_style_layer_is_a_clear_error(front_end, net):
    explorer = widgets.texture_explorer(painting(), net, settings=TINY)
    explorer.controls["layers"].value = ()
    explorer.run_button.click()
    assert explorer._thread is None and "choose at least one layer" in explorer.status.value


def test_an_error_is_one_line_and_run_comes_back(front_end, net, monkeypatch):
    def broken(*args, **kwargs):
        raise nst.NSTError("no such image file: 'nowhere.png'")

    monkeypatch.setattr(widgets, "reconstruct", broken)
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    explorer.run_button.click()
    assert explorer.wait(TIMEOUT)
    assert isinstance(explorer.error, nst.NSTError)
    assert "no such image file" in explorer.status.value and "Traceback" not in explorer.status.value
    assert explorer.caption.value == ""
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_a_bad_choice_is_reported_before_running(front_end, net):
    explorer = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    explorer.controls["size"].value = 32
    explorer._make_plan = lambda: nst.Settings(size=4)  # Settings refuses it
    explorer.run()
    assert explorer._thread is None and "size must be" in explorer.status.value


def test_without_a_front_end_it_prints_a_note_and_runs_once(no_front_end, net, capsys):
    out = widgets.reconstruction_explorer(photo(), net, settings=TINY)
    printed = capsys.readouterr().out
    assert "No widget front end" in printed and "Reconstruction from conv4_2" in printed
    assert isinstance(out, widgets.PlainRun) and out.result.steps_done == 3
    assert str(out).startswith("Reconstruction from conv4_2") and "<img" in out._repr_html_()
    tex = widgets.texture_explorer(painting(), net, settings=TINY)
    assert tex.result.settings["style_layers"] == nst.STYLE_LAYERS
    tra = widgets.transfer_explorer(photo(), painting(), net, settings=TINY)
    assert len(tra.figures) == 2
    maps = widgets.feature_maps_explorer(photo(), net, layer="conv2_1")
    assert "conv2_1: 128 feature maps" in str(maps)


def test_the_callers_image_is_not_changed(front_end, net):
    image = photo()
    copy = image.clone()
    explorer = widgets.reconstruction_explorer(image, net, settings=TINY)
    finish(explorer)
    assert torch.equal(image, copy)
