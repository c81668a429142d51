"""Lesson 05's package support: colour, several styles, the style's scale, the Gram check, the exercise checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from support import load_tool

import nst_course as nst
from nst_course.cli import main
from nst_course.course import analysis
from nst_course.course.checks import check_mean_covariance_loss, check_tv_loss
from nst_course.engine import colour, losses
from nst_course.engine.tasks import blended_style_targets, styles_at

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"size": 48, "steps": 6, "progress": False}


@pytest.fixture(scope="module")
def images():
    return nst.load_image("town", size=48), nst.load_image("swirls", size=48), nst.load_image("waves", size=48)


# --- colour -----------------------------------------------------------------------------------


def test_yiq_round_trip_and_white_has_no_chroma():
    x = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(colour.yiq_to_rgb(colour.rgb_to_yiq(x)), x, atol=1e-6)
    assert colour.rgb_to_yiq(torch.ones(1, 3, 1, 1))[0, 1:].abs().max() < 1e-6


def test_match_colour_gives_the_reference_mean_and_covariance():
    g = torch.Generator().manual_seed(3)
    # mid-range pixels so that clamping to [0, 1] does not interfere
    image = 0.4 + 0.1 * torch.rand(1, 3, 20, 20, generator=g) * torch.tensor([1.0, 0.3, 2.0]).view(1, 3, 1, 1)
    reference = 0.3 + 0.3 * torch.rand(1, 3, 16, 24, generator=g)
    reference[:, 0] = reference[:, 0] * 0.5 + reference[:, 1] * 0.5  # correlated channels
    out = colour.match_colour(image, reference)

    def stats(x):
        pixels = x[0].reshape(3, -1).double()
        return pixels.mean(1), torch.cov(pixels, correction=0)

    mean, cov = stats(out)
    ref_mean, ref_cov = stats(reference)
    assert torch.allclose(mean, ref_mean, atol=1e-5) and torch.allclose(cov, ref_cov, atol=1e-5)
    assert out.shape == image.shape


def test_luminance_output_keeps_the_photos_chroma_and_the_results_luminance():
    g = torch.Generator().manual_seed(4)
    photo = 0.2 + 0.6 * torch.rand(1, 3, 12, 16, generator=g)
    grey_result = torch.rand(1, 1, 12, 16, generator=g).expand(1, 3, 12, 16) * 0.5 + 0.25
    out = colour.colour_output(grey_result, photo, "luminance")
    assert colour.chroma_difference(out, photo) < 0.02
    assert torch.allclose(colour.luminance(out), colour.luminance(grey_result), atol=0.02)


def test_colour_helpers_refuse_bad_input():
    with pytest.raises(nst.NSTError, match="resize one first"):
        colour.chroma_difference(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(nst.NSTError, match="preserve_colour must be one of luminance, histogram"):
        colour.colour_inputs(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), "grey")
    with pytest.raises(nst.NSTError, match=r"\(B, 3, H, W\)"):
        colour.luminance(torch.rand(3, 4, 4))


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("preserve_colour", "grey", "preserve_colour must be one of luminance, histogram or None, not 'grey'"),
        ("style_scale", 0.0, "style_scale must be a number from 0.1 to 10"),
        ("style_scale", float("nan"), "style_scale must be a number from 0.1 to 10"),
        ("style_blend", (0.5, -0.5), "style_blend weights must be >= 0"),
        ("style_blend", (0.0, 0.0), "style_blend needs at least one weight above 0"),
        ("style_blend", (), "style_blend must be one number per style image"),
        ("style_blend", (1.0, float("inf")), "style_blend must be one number per style image"),
    ],
)
def test_new_settings_are_checked_in_one_line(field, value, message):
    with pytest.raises(nst.NSTError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        nst.Settings(**{field: value})
    assert "\n" not in str(info.value)


def test_run_refuses_preserve_colour_which_is_a_transfer_option(images):
    photo, swirls, _ = images
    with pytest.raises(nst.NSTError, match="preserve_colour is an option of transfer"):
        nst.run(content=photo, style=swirls, settings=nst.Settings(preserve_colour="luminance", size=48, steps=1))


# --- several styles ---------------------------------------------------------------------------


def test_blended_targets_are_the_weighted_mean_of_each_styles_grams(net, images):
    _, swirls, waves = images
    settings = nst.Settings(style_layers=("conv1_1", "conv3_1"), style_blend=(7.0, 3.0))
    blended = blended_style_targets(net, [swirls, waves], settings)
    a = nst.objective.style_targets(net, swirls, settings.style_layers)
    b = nst.objective.style_targets(net, waves, settings.style_layers)
    for name in settings.style_layers:
        assert torch.allclose(blended[name], 0.7 * a[name] + 0.3 * b[name], rtol=1e-5, atol=1e-7)
    only_a = blended_style_targets(net, [swirls, waves], dataclasses.replace(settings, style_blend=(1.0, 0.0)))
    assert torch.allclose(only_a["conv1_1"], a["conv1_1"])
    equal = blended_style_targets(net, [swirls, waves], dataclasses.replace(settings, style_blend=None))
    assert torch.allclose(equal["conv1_1"], (a["conv1_1"] + b["conv1_1"]) / 2, rtol=1e-5)


def test_blend_weights_must_match_the_styles(net, images):
    photo, swirls, waves = images
    what_to_do = ": give one weight per style image"
    with pytest.raises(nst.NSTError, match=r"style_blend has 3 weight\(s\) for 2 style image\(s\)" + what_to_do):
        nst.transfer(photo, [swirls, waves], style_blend=[0.2, 0.3, 0.5], net=net, **SMALL)
    with pytest.raises(nst.NSTError, match=r"style_blend has 2 weight\(s\) for 1 style image\(s\)" + what_to_do):
        nst.transfer(photo, swirls, style_blend=[0.5, 0.5], net=net, **SMALL)
    with pytest.raises(nst.NSTError, match="at least one style image"):
        nst.transfer(photo, [], net=net, **SMALL)


def test_a_blend_with_all_weight_on_one_style_is_that_style(net, images):
    photo, swirls, waves = images
    alone = nst.transfer(photo, swirls, net=net, **SMALL)
    blend = nst.transfer(photo, [swirls, waves], style_blend=(1.0, 0.0), net=net, **SMALL)
    other = nst.transfer(photo, [swirls, waves], style_blend=(0.0, 1.0), net=net, **SMALL)
    assert torch.allclose(alone.image, blend.image, atol=1e-5)
    assert not torch.allclose(alone.image, other.image, atol=1e-3)
    assert list(blend.metadata()["nst-course:settings"]["style_blend"]) == [1.0, 0.0]


# --- the style's scale ------------------------------------------------------------------------


def test_style_scale_resizes_the_style_image_only(net, images):
    photo, swirls, _ = images
    big = nst.load_image("swirls", size=200)
    settings = nst.Settings(style_scale=0.5)
    (half,) = styles_at([big], 96, settings=settings, device="cpu")
    assert max(half.shape[-2:]) == 48
    plain = nst.transfer(photo, swirls, net=net, **SMALL)
    scaled = nst.transfer(photo, big, style_scale=2.0, net=net, **SMALL)
    assert scaled.image.shape == plain.image.shape == photo.shape
    assert scaled.metadata()["nst-course:settings"]["style_scale"] == 2.0


def test_a_style_scaled_too_small_for_the_deepest_layer_is_refused(net, images):
    photo, swirls, _ = images
    with pytest.raises(
        nst.NSTError,
        match=r"with style_scale 0.2 the style image is too small: a 16x\d+ image is too small for "
        + nst.STYLE_LAYERS[-1],
    ):
        nst.transfer(photo, swirls, style_scale=0.2, net=net, **SMALL)


# --- colour preservation, end to end ----------------------------------------------------------


def test_both_colour_options_bring_the_results_colours_closer_to_the_photos(net):
    photo = nst.load_image("town", size=64)
    style = nst.load_image("swirls", size=64)
    kwargs = {"net": net, "size": 64, "steps": 15, "progress": False}
    plain = nst.transfer(photo, style, **kwargs)
    distance = {
        mode: colour.chroma_difference(nst.transfer(photo, style, preserve_colour=mode, **kwargs).image, photo)
        for mode in ("luminance", "histogram")
    }
    plain_distance = colour.chroma_difference(plain.image, photo)
    assert plain_distance > 0.02, "the plain transfer should take on the painting's colours"
    assert distance["luminance"] < plain_distance and distance["histogram"] < plain_distance
    assert distance["luminance"] < 0.01  # the photo's own chroma, up to clamping


def test_preserve_colour_records_itself_and_gives_a_colour_image(net, images, tmp_path):
    photo, swirls, _ = images
    result = nst.transfer(photo, swirls, preserve_colour="luminance", net=net, **SMALL)
    assert result.image.shape == photo.shape
    spread = result.image.std(dim=1).mean()  # not grey: the channels differ
    assert spread > 0.01
    result.save(tmp_path / "lum.png")
    assert nst.read_metadata(tmp_path / "lum.png")["nst-course:settings"]["preserve_colour"] == "luminance"


# --- why Gram matrices ------------------------------------------------------------------------


def _position_weighted_gram(features):
    """A Gram matrix that weighs each position by where it is: not a statistic of the texture."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    ramp = torch.linspace(0.0, 1.0, h * w, dtype=features.dtype)
    return (flat * ramp) @ flat.transpose(1, 2) / (h * w)


def test_shuffling_positions_leaves_the_gram_matrix_and_moves_the_features(net, images):
    photo = images[0]
    features = net(photo, ["conv3_1"])["conv3_1"]
    result = analysis.position_test(features, statistic=nst.gram_matrix)
    assert result.statistic_unchanged and result.features_changed
    assert nst.content_loss(analysis.shuffle_positions(features), features) > 0.01


def test_the_shuffle_check_fails_for_a_position_dependent_gram(net, images, monkeypatch):
    features = net(images[0], ["conv3_1"])["conv3_1"]
    assert not analysis.position_test(features, statistic=_position_weighted_gram).statistic_unchanged
    monkeypatch.setattr(losses, "gram_matrix", _position_weighted_gram)
    assert not analysis.position_test(features).statistic_unchanged  # the default reads the package's function


def _lesson_cell(marker: str) -> str:
    """The code of lesson 05's one code cell that contains ``marker``."""
    build = load_tool("build_notebooks")
    cells = build.parse((ROOT / "lessons" / "05-beyond-the-paper.py").read_text(encoding="utf-8"))
    (found,) = [cell for cell in cells if cell.kind == "code" and marker in "\n".join(cell.lines)]
    return "\n".join(found.lines)


def test_the_lessons_shuffle_check_fails_when_the_gram_matrix_depends_on_position(net, images, monkeypatch, capsys):
    """Lesson 05's checked cell, run as the lesson runs it, with the package's Gram matrix and with a planted one."""
    code = _lesson_cell("position_test(")
    assert code.startswith("# NBVAL_CHECK_OUTPUT"), "the shuffle check must be a cell nbval compares"
    settings = nst.Settings(size=48)
    namespace = {
        "nst": nst,
        "net": net,
        "photo": images[0],
        "settings": settings,
        "position_test": analysis.position_test,
    }
    exec(code, dict(namespace))
    assert "the Gram matrix is unchanged: True" in capsys.readouterr().out
    for module in (nst, losses):  # the lesson calls nst.gram_matrix; position_test's default is losses.gram_matrix
        monkeypatch.setattr(module, "gram_matrix", _position_weighted_gram)
    exec(code, dict(namespace))
    out = capsys.readouterr().out
    assert "the Gram matrix is unchanged: False" in out, out
    assert "the features changed (the content loss sees it): True" in out


def test_gram_is_covariance_plus_outer_product_of_means(net, images):
    features = net(images[1], ["conv2_1"])["conv2_1"]
    m = analysis.channel_means(features)
    rebuilt = analysis.covariance_matrix(features) + m[:, :, None] * m[:, None, :]
    assert torch.allclose(nst.gram_matrix(features), rebuilt, rtol=1e-4, atol=1e-6)


# --- exercise checks --------------------------------------------------------------------------


def _centred(x):
    return x - x.mean(dim=(2, 3), keepdim=True)


def _cov(x):
    return nst.gram_matrix(_centred(x))


def _means(x):
    return x.mean(dim=(2, 3))


MEAN_COV_ANSWERS = {
    "matches": lambda f, t: (_means(f) - _means(t)).pow(2).sum() + (_cov(f) - _cov(t)).pow(2).sum(),
    "you compared Gram matrices": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum() + (nst.gram_matrix(f) - nst.gram_matrix(t)).pow(2).sum()
    ),
    "you centred the features but not the target": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum() + (_cov(f) - nst.gram_matrix(t)).pow(2).sum()
    ),
    "you centred the target but not the features": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum() + (nst.gram_matrix(f) - _cov(t)).pow(2).sum()
    ),
    "the batch was counted twice": lambda f, t: (
        f.shape[0] * ((_means(f) - _means(t)).pow(2).sum() + (_cov(f) - _cov(t)).pow(2).sum())
    ),
    "you averaged over the batch": lambda f, t: (
        ((_means(f) - _means(t)).pow(2).sum() + (_cov(f) - _cov(t)).pow(2).sum()) / f.shape[0]
    ),
    "the covariance term is missing": lambda f, t: (_means(f) - _means(t)).pow(2).sum(),
    "the mean term is missing": lambda f, t: (_cov(f) - _cov(t)).pow(2).sum(),
    "not by H*W - 1": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum()
        + (_cov(f) * f[0, 0].numel() / (f[0, 0].numel() - 1) - _cov(t) * t[0, 0].numel() / (t[0, 0].numel() - 1))
        .pow(2)
        .sum()
    ),
    "divide each covariance by its own number of positions": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum()
        + (nst.gram_matrix(_centred(f), normalize=False) - nst.gram_matrix(_centred(t), normalize=False)).pow(2).sum()
    ),
    "not their mean": lambda f, t: (_means(f) - _means(t)).pow(2).mean() + (_cov(f) - _cov(t)).pow(2).mean(),
    "do not take a square root": lambda f, t: (
        (_means(f) - _means(t)).pow(2).sum().sqrt() + (_cov(f) - _cov(t)).pow(2).sum().sqrt()
    ),
    "ONE number": lambda f, t: (_cov(f) - _cov(t)).pow(2),
    "no gradient": lambda f, t: torch.tensor(
        float(((_means(f) - _means(t)).pow(2).sum() + (_cov(f) - _cov(t)).pow(2).sum()).detach()), dtype=f.dtype
    ),
    "not written yet": lambda f, t: (_ for _ in ()).throw(NotImplementedError("TODO")),
}


@pytest.mark.parametrize("expected", list(MEAN_COV_ANSWERS))
def test_mean_covariance_check_names_each_mistake(expected, capsys):
    passed = check_mean_covariance_loss(MEAN_COV_ANSWERS[expected])
    out = capsys.readouterr().out
    assert passed == (expected == "matches")
    assert expected in out, out


def _dx(x):
    return x[..., :, 1:] - x[..., :, :-1]


def _dy(x):
    return x[..., 1:, :] - x[..., :-1, :]


TV_ANSWERS = {
    "matches": lambda x: _dx(x).pow(2).mean() + _dy(x).pow(2).mean(),
    "only horizontal": lambda x: _dx(x).pow(2).mean(),
    "only vertical": lambda x: _dy(x).pow(2).mean(),
    "use means, not sums": lambda x: _dx(x).pow(2).sum() + _dy(x).pow(2).sum(),
    "the absolute value": lambda x: _dx(x).abs().mean() + _dy(x).abs().mean(),
    "take the two means separately": lambda x: torch.cat([_dx(x).pow(2).flatten(), _dy(x).pow(2).flatten()]).mean(),
    "do not average them": lambda x: (_dx(x).pow(2).mean() + _dy(x).pow(2).mean()) / 2,
    "torch.roll wraps around": lambda x: (
        (x - x.roll(1, dims=-1)).pow(2).mean() + (x - x.roll(1, dims=-2)).pow(2).mean()
    ),
    "the batch was counted twice": lambda x: x.shape[0] * (_dx(x).pow(2).mean() + _dy(x).pow(2).mean()),
    "changed its input": lambda x: x.add_(0.5).pow(2).mean(),
}


@pytest.mark.parametrize("expected", list(TV_ANSWERS))
def test_tv_check_names_each_mistake(expected, capsys):
    passed = check_tv_loss(TV_ANSWERS[expected])
    out = capsys.readouterr().out
    assert passed == (expected == "matches")
    assert expected in out, out


# --- artefacts --------------------------------------------------------------------------------


def test_high_pass_sees_noise_and_not_smooth_ramps():
    ramp = torch.linspace(0, 1, 16).view(1, 1, 1, 16).expand(1, 3, 16, 16)
    noisy = (ramp + 0.1 * torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    interior = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    assert analysis.high_pass(ramp)[interior].abs().max() < 1e-6
    assert analysis.high_pass(noisy).abs().mean() > 0.03
    picture = analysis.high_pass_picture(noisy)
    assert picture.shape == noisy.shape and float(picture.min()) >= 0 and float(picture.max()) <= 1


# --- command line -----------------------------------------------------------------------------

FAST = ["--size", "32", "--steps", "2", "--weights", "random", "-q"]


def test_cli_blends_styles_and_keeps_colours(tmp_path):
    out = tmp_path / "blend.png"
    args = ["transfer", "town", "swirls", "waves", "--style-blend", "0.7,0.3", "--preserve-colour", "histogram"]
    assert main([*args, "--style-scale", "1.5", "-o", str(out), *FAST]) == 0
    settings = nst.read_metadata(out)["nst-course:settings"]
    assert settings["style_blend"] == [0.7, 0.3]
    assert settings["preserve_colour"] == "histogram" and settings["style_scale"] == 1.5
    texture = ["texture", "mosaic", "--style-scale", "0.5", "-o", str(tmp_path / "t.png"), *FAST, "--size", "64"]
    assert main(texture) == 0
    assert nst.read_metadata(tmp_path / "t.png")["nst-course:settings"]["style_scale"] == 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["town", "swirls", "waves", "--style-blend", "1"], "style_blend has 1 weight(s) for 2 style image(s)"),
        (["town", "swirls", "waves", "--style-blend", "1,-1"], "style_blend weights must be >= 0"),
        (["town", "swirls", "--preserve-colour", "grey"], "preserve_colour must be one of luminance, histogram"),
        (["town", "swirls", "--style-scale", "50"], "style_scale must be a number from 0.1 to 10"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, args, message):
    assert main(["transfer", *args, "-o", str(tmp_path / "x.png"), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


# --- the lesson with trained weights ----------------------------------------------------------


@pytest.mark.slow
def test_lesson_05_shows_trained_and_untrained_side_by_side_when_trained_weights_load(tmp_path, monkeypatch):
    """CI has no ImageNet weights: a weights file that says "pretrained" stands in, so the branch runs."""
    import nbformat
    from nbclient import NotebookClient

    from nst_course.engine.weights import export_weights

    path = export_weights(nst.load_vgg19(weights="random", seed=1), tmp_path / "stand-in.pth")
    payload = torch.load(path, weights_only=True)
    torch.save(payload | {"pretrained": True, "source": "a stand-in for trained weights"}, path)
    monkeypatch.setenv("NST_COURSE_WEIGHTS", str(path))
    monkeypatch.setenv("NST_COURSE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "notebooks" / "solutions" / "05-beyond-the-paper.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("untrained = ")]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "trained weights found" in text, text
    assert any("image/png" in o.get("data", {}) for o in cell.outputs), "the side-by-side figure was not shown"
