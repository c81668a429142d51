"""The paper's figures: the trade-off of Fig. 4, the translated weights, the command, and Ctrl-C."""

from __future__ import annotations

import itertools

import pytest
import torch

import nst_course as nst
from nst_course import paper as figures
from nst_course.cli import main
from nst_course.paper import panels

TINY = {"size": 32, "steps": 8}


@pytest.fixture(scope="module")
def grid(net):
    """Fig. 4 on two rows and three columns, a decade and more apart."""
    rows = [nst.STYLE_LAYERS[:1], nst.STYLE_LAYERS[:3]]
    return figures.figure4(net=net, layer_sets=rows, ratios=(1e-5, 1e-3, 1e-1), progress=False, **TINY)


def test_along_each_row_of_fig4_style_loss_falls_and_content_loss_rises(grid):
    rows = figures.trade_off(grid)
    assert len(rows) == 2 and all(len(values) == 3 for values in rows.values())
    for layers, values in rows.items():
        weights = [beta for beta, _, _ in values]
        content = [c for _, c, _ in values]
        style = [s for _, _, s in values]
        assert weights == sorted(set(weights)), f"{layers}: the columns do not have growing beta/alpha: {weights}"
        assert all(a < b for a, b in itertools.pairwise(content)), f"{layers}: content loss does not rise: {content}"
        assert all(a > b for a, b in itertools.pairwise(style)), f"{layers}: style loss does not fall: {style}"


def test_every_panel_records_its_settings_and_the_paper_weight_it_stands_for(grid):
    assert grid.complete and [p.key for p in grid.panels] == grid.planned
    for panel in grid.panels:
        extra, settings = panel.result.extra, panel.result.settings
        assert extra["figure"] == 4 and extra["paper_alpha_over_beta"] in (1e-5, 1e-3, 1e-1)
        assert settings["init"] == "noise" and settings["size"] == 32 and settings["steps"] == 8
        assert tuple(settings["style_layers"]) == tuple(extra["layers"])
        assert f"{settings['style_weight']:.4g}" in extra["translation"]
    labels = [text.get_text() for ax in grid.figure.axes for text in (ax.title, ax.yaxis.label)]
    assert any("α/β = 1e-05" in label for label in labels) and any(nst.STYLE_LAYERS[0] in label for label in labels)


def test_translated_weights_are_measured_and_consistent(net):
    photo = nst.load_image("town", size=48)
    scales = figures.loss_scales(net, photo, nst.load_image("swirls", size=48))
    other = figures.loss_scales(net, photo, nst.load_image("mosaic", size=48))
    assert scales.style_weight(1e-3, "paper-rescaled") == pytest.approx(1e3)  # the paper's own scale: beta = 1/ratio
    assert scales.style_weight(1e-4) == pytest.approx(10 * scales.style_weight(1e-3))
    for name in figures.NORMALISATION_LABELS:
        assert scales.paper_ratio(scales.style_weight(2e-3, name), name) == pytest.approx(2e-3)
    assert scales.style["tutorial"] < scales.style["mean"]  # Gram / (C H W): C^2 smaller than the mean's
    assert other.style_weight(1e-3) != pytest.approx(scales.style_weight(1e-3), rel=1e-3), "not measured on the images"
    with pytest.raises(nst.NSTError, match="alpha/beta must be a number > 0"):
        scales.style_weight(0)
    figure = figures.plot_normalisations(scales)
    assert len(figure.axes) == 2


def _the_tutorials_objective(net, content, style, image):
    """The PyTorch tutorial's content and style loss of ``image``, written out in its own way.

    Its network: the ImageNet mean/std normalisation, then VGG-19's modules in order with
    max pooling; it names the convolutions conv_1, conv_2, ... and reads them before the
    ReLU. Content: mean squared error at conv_4. Style: mean squared error of
    F F^T / (a*b*c*d) at conv_1 ... conv_5, summed.
    """

    def features(x):
        x = (x - net.mean) / net.std
        out, convs = {}, 0
        for module in net.layers:
            if isinstance(module, (torch.nn.AvgPool2d, torch.nn.MaxPool2d)):
                module = torch.nn.MaxPool2d(2, 2)
            x = module(x)
            if isinstance(module, torch.nn.Conv2d):
                convs += 1
                out[f"conv_{convs}"] = x
                if convs == 5:
                    return out
        raise AssertionError("VGG-19 has more than five convolutions")

    def gram(f):
        a, b, c, d = f.shape
        flat = f.view(a * b, c * d)
        return flat @ flat.t() / (a * b * c * d)

    with torch.no_grad():
        fc, fs, fx = features(content), features(style), features(image)
        content_loss = torch.nn.functional.mse_loss(fx["conv_4"], fc["conv_4"])
        style_loss = sum(torch.nn.functional.mse_loss(gram(fx[k]), gram(fs[k])) for k in fs)
    return float(content_loss), float(style_loss)


def test_the_tutorials_weight_translates_into_the_alpha_beta_its_own_objective_gives(net):
    """style_weight=1e6 as a paper alpha/beta, turned back on the tutorial's own objective, is 1e6 again."""
    photo, painting = nst.load_image("town", size=64), nst.load_image("mosaic", size=64)
    noise = torch.rand((1, 3, *photo.shape[-2:]), generator=torch.Generator().manual_seed(3))
    scales = figures.loss_scales(net, photo, painting, reference=noise)
    ratio = scales.paper_ratio(1e6, "tutorial")
    content, style = _the_tutorials_objective(net, photo, painting, noise)
    # the tutorial's weight under which its style term is as big next to its content term
    # as the paper's alpha/beta makes it on the paper's scale
    back = scales.balance("paper-rescaled") / ratio / (style / content)
    assert back == pytest.approx(1e6, rel=1e-3), f"alpha/beta {ratio:.3g} is the tutorial's weight {back:.4g}, not 1e6"
    assert net.pooling == "avg", "the test must show that the tutorial's max pooling is used on any network"


def test_ctrl_c_keeps_the_finished_panels(net, tmp_path):
    def interrupt(panel, step, losses, image):
        if panel == 1 and step == 2:
            raise KeyboardInterrupt

    fig = figures.figure6(net=net, seeds=(0, 1), progress=False, callback=interrupt, **TINY)
    assert fig.interrupted and not fig.complete
    assert [p.key for p in fig.panels] == ["A"] and fig.planned == ["A", "B", "C1", "C2"]
    written = fig.save(tmp_path)
    assert sorted(p.name for p in written) == ["fig6-A.png", "fig6.png"]
    meta = nst.read_metadata(tmp_path / "fig6.png")["nst-course:figure"]
    assert meta["interrupted"] is True and [p["key"] for p in meta["panels"]] == ["A"]


def test_a_panel_that_converges_is_finished_not_interrupted(net):
    fig = figures.figure7(net=net, progress=False, stop_tolerance=0.9, stop_window=1, **TINY)
    assert fig.panels[0].result.stopped == "converged" and fig.panels[0].result.steps_done < TINY["steps"]
    assert fig.complete and not fig.interrupted


def test_noise_seeds_give_different_images(net):
    fig = figures.figure6(net=net, seeds=(0, 1), progress=False, **TINY)
    first, second = fig.panel("C1").image, fig.panel("C2").image
    assert (first - second).abs().mean() > 0.01
    assert fig.panel("C1").result.settings["seed"] == 0 and fig.panel("C2").result.settings["seed"] == 1


def test_the_command_writes_the_figure_and_each_panel(tmp_path, capsys):
    out = tmp_path / "figs"
    args = ["figure", "7", "--out", str(out), "--size", "32", "--steps", "2", "--weights", "random", "-q"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["fig7-result.png", "fig7.png"]
    meta = nst.read_metadata(out / "fig7.png")
    assert meta["nst-course:weights"].startswith("random")
    panels = meta["nst-course:figure"]["panels"]
    assert panels[0]["settings"]["init"] == "content" and panels[0]["extra"]["paper_alpha_over_beta"] == 0.01
    assert nst.read_metadata(out / "fig7-result.png")["nst-course:settings"]["size"] == 32
    assert "about" in capsys.readouterr().err
    assert main(args) == 2  # no silent overwrite
    assert "exists" in capsys.readouterr().err


def test_the_command_keeps_finished_panels_when_interrupted(tmp_path, monkeypatch, capsys):
    real = panels.transfer
    calls = []

    def second_run_is_interrupted(*args, callback=None, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # Ctrl-C during the second panel's second step, inside the loop

            def press_ctrl_c(step, losses, image):
                callback(step, losses, image)
                if step == 2:
                    raise KeyboardInterrupt

            return real(*args, callback=press_ctrl_c, **kwargs)
        return real(*args, callback=callback, **kwargs)

    monkeypatch.setattr(panels, "transfer", second_run_is_interrupted)
    out = tmp_path / "figs"
    assert main(["figure", "5", "--out", str(out), "--size", "32", "--steps", "3", "--weights", "random", "-q"]) == 130
    assert sorted(p.name for p in out.iterdir()) == ["fig5-A.png", "fig5.png"]
    assert "interrupted" in capsys.readouterr().err


def test_bad_figure_numbers_and_mismatched_weights_are_refused(net, capsys):
    assert main(["figure", "9", "--weights", "random"]) == 2
    assert "no figure '9'" in capsys.readouterr().err
    with pytest.raises(nst.NSTError, match="one alpha/beta per painting"):
        figures.figure3(net=net, styles=("swirls",), ratios=(1e-3, 1e-4), **TINY)


def test_fig5_compares_the_conv2_2_level_with_the_default_content_layer(net):
    fig = figures.figure5(net=net, progress=False, **TINY)
    layers = [p.result.settings["content_layers"][0] for p in fig.panels]
    assert layers == [figures.same_kind_layer(2, 2), nst.CONTENT_LAYER]
    assert not torch.equal(fig.panels[0].image, fig.panels[1].image)


def test_the_trade_off_explorer_translates_the_chosen_paper_weight(net, capsys):
    from nst_course.course import widgets

    plain = widgets.trade_off_explorer("town", "swirls", net, settings=nst.Settings(size=32, steps=2, init="noise"))
    photo, painting = nst.load_image("town", size=32), nst.load_image("swirls", size=32)
    expected = figures.loss_scales(net, photo, painting, settings=nst.Settings(size=32)).style_weight(1e-3)
    assert plain.result.settings["style_weight"] == pytest.approx(expected)
    assert (
        "Paper α/β = 1e-03 → β = " in plain.caption
        and f"{nst.STYLE_LAYERS[0]} + {nst.STYLE_LAYERS[1]}" in plain.caption
    )


def test_the_panel_counts_are_the_panels_each_figure_plans(net):
    stop_at_once = lambda panel, step, losses, image: True  # noqa: E731
    for number, figure in figures.FIGURES.items():
        fig = figure(net=net, progress=False, callback=stop_at_once, size=32, steps=1)
        assert len(fig.planned) == figures.PANEL_COUNTS[number], f"Fig. {number}"
