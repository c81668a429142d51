"""The layer atlas: top patches at the receptive field, the figure, its record, and the command."""

from __future__ import annotations

import pytest
import torch

import nst_course as nst
from nst_course.cli import main
from nst_course.course.examples import layer_geometry, top_patches

FAST = ["--size", "32", "--steps", "2", "--weights", "random", "-q"]


def test_top_patches_are_the_strongest_places_cut_at_the_receptive_field(net):
    images = {
        "a": torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(5)),
        "b": torch.rand(1, 3, 48, 40, generator=torch.Generator().manual_seed(6)),
    }
    field, stride = layer_geometry("relu2_1")
    assert (field, stride) == (10, 2)
    (found,) = top_patches(net, "relu2_1", [7], images=images, count=3)
    maps = {name: net(image, ["relu2_1"])["relu2_1"][0, 7] for name, image in images.items()}
    best = max(maps, key=lambda name: float(maps[name].max()))
    first = found[0]
    assert first.source == best and first.activation == pytest.approx(float(maps[best].max()))
    assert float(maps[best][first.row, first.column]) == pytest.approx(first.activation)
    assert [p.activation for p in found] == sorted((p.activation for p in found), reverse=True)
    assert all(p.image.shape == (3, field, field) for p in found)
    top, left = (
        first.row * stride + (stride - 1) / 2 - (field - 1) / 2,
        first.column * stride + (stride - 1) / 2 - (field - 1) / 2,
    )
    top = int(max(0, min(round(top), images[best].shape[2] - field)))
    left = int(max(0, min(round(left), images[best].shape[3] - field)))
    assert torch.equal(first.image, images[best][0, :, top : top + field, left : left + field])
    spots = {(p.source, p.row, p.column) for p in found}
    assert len(spots) == 3
    same = [p for p in found if p.source == first.source and p is not first]
    assert all(max(abs(p.row - first.row), abs(p.column - first.column)) >= field // (2 * stride) for p in same)


class _Map:
    """A "network" whose relu2_1 is a designed map: a peak, its neighbour almost as high, a far second place."""

    device = torch.device("cpu")

    def __call__(self, image, layers):
        fmap = torch.zeros(1, 1, image.shape[2] // 2, image.shape[3] // 2)
        fmap[0, 0, 10, 10], fmap[0, 0, 10, 11], fmap[0, 0, 3, 15] = 5.0, 4.9, 4.0
        return {"relu2_1": fmap}


def test_a_patch_is_centred_on_its_place_and_neighbours_of_a_chosen_place_are_skipped():
    image = torch.arange(3 * 40 * 40, dtype=torch.float32).view(1, 3, 40, 40)
    (found,) = top_patches(_Map(), "relu2_1", [0], images={"x": image}, count=2)
    assert [(p.row, p.column, p.activation) for p in found] == [(10, 10, 5.0), (3, 15, 4.0)]
    # grid place 10 has its centre at input pixel 10 * 2 + 0.5; the 10-pixel field around it starts at 16
    assert torch.equal(found[0].image, image[0, :, 16:26, 16:26])
    assert torch.equal(found[1].image, image[0, :, 2:12, 26:36])


def test_the_atlas_names_layer_field_grid_and_weights_and_saves_its_record(net, tmp_path):
    page = nst.atlas("relu2_1", channels=[3, 5], net=net, size=32, steps=2, seed=4, progress=False)
    title = page.figure._suptitle.get_text()
    assert "relu2_1" in title and "receptive field 10 px" in title and "16x16 grid at 32 px" in title
    assert "random (untrained, seed 0)" in title
    assert page.result.image.shape == (2, 3, 32, 32) and len(page.patches) == 2
    path = page.save(tmp_path / "atlas.png")
    meta = nst.read_metadata(path)
    assert meta["nst-course:weights"] == "random (untrained, seed 0)"
    assert meta["nst-course:seed"] == 4 and meta["nst-course:settings"]["steps"] == 2
    assert meta["nst-course:atlas"]["layer"] == "relu2_1" and meta["nst-course:atlas"]["channels"] == [3, 5]


@pytest.mark.parametrize(
    ("channels", "message"), [([64], "no channel 64"), ([], "at least one channel"), (["1"], "no channel '1'")]
)
def test_channels_a_layer_lacks_are_refused_in_one_line(net, channels, message):
    with pytest.raises(nst.NSTError, match=message) as caught:
        nst.atlas("relu1_1", channels=channels, net=net, size=32, steps=1, progress=False)
    assert "\n" not in str(caught.value)


def test_the_command_prints_an_estimate_first_and_writes_the_atlas(tmp_path, capsys):
    out = tmp_path / "a.png"
    assert main(["atlas", "relu1_1", "-o", str(out), "--channels", "0,2", *FAST]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[1].startswith("estimate: about") and "saved" in captured.out
    meta = nst.read_metadata(out)
    assert meta["nst-course:atlas"]["channels"] == [0, 2] and meta["nst-course:settings"]["size"] == 32


def test_atlas_all_writes_one_page_per_style_layer_and_relu4_2(tmp_path, monkeypatch, capsys):
    import nst_course.course.atlases as atlases

    drawn = []
    monkeypatch.setattr(atlases, "atlas", lambda layer, channels, **kw: drawn.append(layer) or _Page())
    monkeypatch.setattr(atlases, "atlas_seconds", lambda *a: 1.0)
    assert main(["atlas", "all", "-o", str(tmp_path / "a.png"), *FAST]) == 0
    assert drawn == [*nst.STYLE_LAYERS, "relu4_2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"a-{layer}.png" for layer in drawn)


class _Page:
    def save(self, path):
        path.write_bytes(b"")
        return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["atlas", "relu9_9", "-o", "x.png"], "unknown layer 'relu9_9'"),
        (["atlas", "relu1_1", "-o", "x.jpg"], "name the output *.png"),
        (["atlas", "relu1_1", "-o", "x.png", "--channels", "70"], "no channel 70"),
        (["atlas", "relu1_1", "-o", "x.png", "--steps", "0"], "steps must be at least 1"),
    ],
)
def test_command_mistakes_are_one_line_before_the_network_loads(argv, message, capsys, monkeypatch, tmp_path):
    import nst_course.engine.vgg

    monkeypatch.setattr(nst_course.engine.vgg, "load_vgg19", lambda **kw: pytest.fail("the network was loaded"))
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
