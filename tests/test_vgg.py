"""The network: paper names, the extractor, and every way of getting weights."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import vgg19

import nst_course as nst
from nst_course.engine import vgg, weights


def test_layer_table_matches_torchvision_module_types():
    features = vgg19(weights=None).features
    assert len(nst.LAYER_NAMES) == len(features) == 37
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, module in zip(nst.LAYER_NAMES, features, strict=True):
        assert isinstance(module, kinds[name.rstrip("0123456789_")]), name
    # the convolutions' widths follow the paper's blocks
    convs = [m for m in features if isinstance(m, nn.Conv2d)]
    conv_names = [n for n in nst.LAYER_NAMES if n.startswith("conv")]
    assert [c.out_channels for c in convs][conv_names.index("conv4_2")] == 512
    assert conv_names[:3] == ["conv1_1", "conv1_2", "conv2_1"] and conv_names[-1] == "conv5_4"
    assert nst.LAYER_NAMES.index("conv4_2") == 21  # what other code calls features[21]


def test_extractor_returns_the_requested_layers(net, small_image):
    out = net(small_image, ["conv4_2", "conv1_1", "pool2"])
    assert set(out) == {"conv4_2", "conv1_1", "pool2"}
    assert out["conv1_1"].shape == (1, 64, 24, 32)
    assert out["pool2"].shape == (1, 128, 6, 8)
    assert out["conv4_2"].shape == (1, 512, 3, 4)
    assert (out["conv1_1"] < 0).any(), "a conv output must not be overwritten by an in-place ReLU"


def test_extractor_runs_only_up_to_the_deepest_layer(net, small_image):
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, m in net.layers.named_children()]
    try:
        net(small_image, ["conv2_1"])
    finally:
        for hook in hooks:
            hook.remove()
    assert ran == list(nst.LAYER_NAMES[: nst.LAYER_NAMES.index("conv2_1") + 1])


def test_normalisation_happens_inside_and_leaves_the_input_alone(net, small_image):
    before = small_image.clone()
    out = net(small_image, ["conv1_1"])["conv1_1"]
    assert torch.equal(small_image, before)
    conv = net.layers.conv1_1
    expected = conv((small_image - net.mean) / net.std)
    assert torch.allclose(out, expected)
    mean, std = weights.imagenet_normalisation()
    assert torch.allclose(net.mean.flatten(), torch.tensor(mean)) and torch.allclose(
        net.std.flatten(), torch.tensor(std)
    )


def test_network_is_frozen_and_in_eval_mode(net):
    assert not net.training
    assert all(not p.requires_grad for p in net.parameters())


def test_with_pooling_keeps_the_weights_and_changes_only_the_pooling(net, small_image):
    mx = vgg.with_pooling(net, "max")
    assert net.pooling == "avg" and mx.pooling == "max" and isinstance(mx.layers.pool1, nn.MaxPool2d)
    assert mx.layers.conv1_1 is net.layers.conv1_1 and isinstance(net.layers.pool1, nn.AvgPool2d)
    before, after = net(small_image, ["relu1_2", "conv2_1"]), mx(small_image, ["relu1_2", "conv2_1"])
    assert torch.equal(before["relu1_2"], after["relu1_2"])
    assert not torch.allclose(before["conv2_1"], after["conv2_1"])
    reference = nst.load_vgg19(weights="random", pooling="max", device="cpu")
    assert torch.allclose(after["conv2_1"], reference(small_image, ["conv2_1"])["conv2_1"])
    assert vgg.with_pooling(net, "avg") is net


def test_pooling_choice():
    avg = nst.load_vgg19(weights="random", pooling="avg", device="cpu")
    mx = nst.load_vgg19(weights="random", pooling="max", device="cpu")
    assert isinstance(avg.layers.pool1, nn.AvgPool2d) and isinstance(mx.layers.pool3, nn.MaxPool2d)
    with pytest.raises(nst.NSTError, match="pooling must be"):
        nst.load_vgg19(weights="random", pooling="min", device="cpu")


def test_unknown_layer_error_lists_valid_names(net, small_image):
    with pytest.raises(nst.NSTError) as info:
        net(small_image, ["conv4_2", "conv6_1"])
    message = str(info.value)
    assert "'conv6_1'" in message and "conv1_1" in message and "pool5" in message
    assert "\n" not in message


def test_random_weights_are_seeded_and_named():
    a = nst.load_vgg19(weights="random", seed=0, device="cpu")
    b = nst.load_vgg19(weights="random", seed=0, device="cpu")
    c = nst.load_vgg19(weights="random", seed=1, device="cpu")
    assert torch.equal(a.layers.conv3_1.weight, b.layers.conv3_1.weight)
    assert not torch.equal(a.layers.conv3_1.weight, c.layers.conv3_1.weight)
    assert a.weights.kind == "random" and not a.weights.pretrained
    assert "untrained" in str(a.weights) and "seed 0" in str(a.weights)


def test_weights_come_from_the_environment_variable(monkeypatch):
    monkeypatch.setenv(weights.WEIGHTS_ENV, "random")
    assert nst.load_vgg19(device="cpu").weights.kind == "random"


def test_load_vgg19_is_keyword_only():
    with pytest.raises(TypeError):
        nst.load_vgg19("random")  # as torchvision's builders: weights=... by name


def test_network_describes_itself(net):
    assert net.device == torch.device("cpu")
    mx = nst.load_vgg19(weights="random", pooling="max", seed=3, device="cpu")
    assert mx.describe() == {
        "weights": "random (untrained, seed 3)",
        "kind": "random",
        "pretrained": False,
        "pooling": "max",
    }


def test_resolve_weights_takes_the_environment_as_the_default(monkeypatch):
    monkeypatch.setenv(weights.WEIGHTS_ENV, "  ")
    assert weights.resolve_weights() == "auto"
    monkeypatch.setenv(weights.WEIGHTS_ENV, "/data/vgg19.pth")
    assert weights.resolve_weights() == "/data/vgg19.pth"
    assert weights.resolve_weights("random") == "random", "an explicit choice wins over the variable"
    with pytest.raises(nst.NSTError, match="weights must be"):
        weights.resolve_weights("none")


def test_one_function_reads_the_weights_variable():
    """weights_variable is the only reader: the API, the commands and the pack all go through it."""
    package = Path(nst.__file__).resolve().parent
    reads = re.compile(r"(environ|getenv)\b[^\n]*(WEIGHTS_ENV|NST_COURSE_WEIGHTS)")
    readers = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py") if reads.search(p.read_text()))
    assert readers == ["engine/weights.py"]
    source = (package / "engine" / "weights.py").read_text()
    assert len(reads.findall(source)) == 1 and "def weights_variable" in source


def _stand_in_vgg19(seed: int) -> nn.Module:
    """torchvision's VGG-19 with its real features but a classifier shrunk to almost nothing.

    The classifier (470 MB of the 550) is never used here; files saved from this keep
    every key of a full checkpoint while staying small and quick to write.
    """
    torch.manual_seed(seed)
    model = vgg19(weights=None)
    model.classifier = nn.Sequential(
        nn.Linear(1, 1), nn.ReLU(), nn.Dropout(), nn.Linear(1, 1), nn.ReLU(), nn.Dropout(), nn.Linear(1, 1)
    )
    return model


def _features_of(model_features: nn.Sequential, image: torch.Tensor, upto: int) -> torch.Tensor:
    mean, std = weights.imagenet_normalisation()
    x = (image - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        return model_features[: upto + 1](x)


@pytest.mark.parametrize("layout", ["full", "features"])
def test_local_state_dict_files_load(tmp_path, layout, small_image):
    model = _stand_in_vgg19(5)
    state = model.state_dict() if layout == "full" else model.features.state_dict()
    path = tmp_path / f"{layout}.pth"
    torch.save(state, path)
    net = nst.load_vgg19(weights=path, pooling="max", device="cpu")  # max: as torchvision's own model
    assert net.weights.kind == "file" and path.name in str(net.weights) and "sha256" in str(net.weights)
    index = nst.LAYER_NAMES.index("conv3_1")
    model.features[1].inplace = False
    expected = _features_of(model.features, small_image, index)
    assert torch.allclose(net(small_image, ["conv3_1"])["conv3_1"], expected, atol=1e-5)


def test_export_gives_the_same_features_within_tolerance(tmp_path, net, small_image):
    path = nst.export_weights(net, tmp_path / "vgg19-features.pth")
    assert path.stat().st_size < 45e6
    again = nst.load_vgg19(weights=path, device="cpu")
    assert "random (untrained, seed 0)" in str(again.weights), "the export must say where its weights came from"
    assert not again.weights.pretrained
    for layer in ("conv1_1", "conv4_2"):
        ref = net(small_image, [layer])[layer]
        got = again(small_image, [layer])[layer]
        assert (got - ref).abs().max() <= 2e-2 * ref.abs().max()


def test_unreadable_or_wrong_weights_files_give_one_line_errors(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(nst.NSTError, match=r"not a file saved with torch\.save"):
        nst.load_vgg19(weights=junk, device="cpu")
    wrong = tmp_path / "wrong.pth"
    torch.save({"weight": torch.zeros(3)}, wrong)
    with pytest.raises(nst.NSTError, match="not a VGG-19 state dict"):
        nst.load_vgg19(weights=wrong, device="cpu")
    shapes = tmp_path / "shapes.pth"
    state = vgg19(weights=None).features.state_dict()
    state["0.weight"] = torch.zeros(8, 3, 3, 3)
    torch.save(state, shapes)
    with pytest.raises(nst.NSTError, match="does not fit VGG-19"):
        nst.load_vgg19(weights=shapes, device="cpu")
    with pytest.raises(nst.NSTError, match="does not exist"):
        nst.load_vgg19(weights=tmp_path / "missing.pth", device="cpu")


def test_auto_without_network_falls_back_to_random_loudly(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match="UNTRAINED") as record:
        net = nst.load_vgg19(weights="auto", device="cpu")
    assert net.weights.kind == "random" and not net.weights.pretrained
    assert "nst-course weights download" in str(record[0].message)


def test_imagenet_without_network_is_a_clear_error(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(nst.NSTError, match="could not download the ImageNet VGG-19 weights"):
        nst.load_vgg19(weights="imagenet", device="cpu")


def test_a_damaged_cache_file_is_a_clear_error_and_auto_falls_back(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = weights.imagenet_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a download")
    with pytest.raises(nst.NSTError, match="is damaged, delete it"):
        nst.load_vgg19(weights="imagenet", device="cpu")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert nst.load_vgg19(weights="auto", device="cpu").weights.kind == "random"


def test_imagenet_and_auto_use_torchs_cache(tmp_path, monkeypatch, offline, small_image):
    """A file already in torch's cache is used without any network (as after one download)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = weights.imagenet_cache_path()
    assert cached.parent == tmp_path / "hub" / "checkpoints" and cached.name.startswith("vgg19-")
    cached.parent.mkdir(parents=True)
    model = _stand_in_vgg19(7)
    with torch.device("meta"):
        assert set(model.state_dict()) == set(vgg19(weights=None).state_dict()), "same keys as a real checkpoint"
    torch.save(model.state_dict(), cached)
    # the stand-in is not the published file: let its own hash be the one expected
    prefix = hashlib.sha256(cached.read_bytes()).hexdigest()[:8]
    monkeypatch.setattr(weights, "_imagenet_sha256_prefix", lambda: prefix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: the cache is found
        for spec in ("imagenet", "auto"):
            net = nst.load_vgg19(weights=spec, device="cpu")
            assert net.weights.kind == "imagenet" and net.weights.pretrained
    assert torch.equal(net.layers.conv5_4.weight, model.features[34].weight)


def test_describe_layers_sizes_and_receptive_fields():
    rows = {row["layer"]: row for row in nst.describe_layers((128, 96))}
    assert rows["conv1_1"]["receptive_field"] == 3 and rows["conv1_1"]["channels"] == 64
    assert rows["conv4_2"]["height"] == 16 and rows["conv4_2"]["width"] == 12
    assert rows["pool5"]["height"] == 4 and rows["pool5"]["receptive_field"] == 268


def test_the_architecture_and_imagenet_constants_are_torchvisions():
    from torchvision.models import VGG19_Weights

    ours, theirs = weights._empty_features(), vgg19(weights=None).features
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    with torch.device("meta"):
        assert {k: v.shape for k, v in ours.state_dict().items()} == {
            k: v.shape for k, v in theirs.state_dict().items()
        }
    published = VGG19_Weights.IMAGENET1K_V1
    assert published.url == weights.IMAGENET_URL
    expected = (published.transforms().mean, published.transforms().std)
    assert (list(weights.IMAGENET_MEAN), list(weights.IMAGENET_STD)) == expected


def test_loading_a_network_does_not_import_torchvision(tmp_path):
    """torchvision costs a kernel some 80 MiB of its own memory: a lesson's network loads without it."""
    import subprocess
    import sys

    code = (
        "import sys, nst_course as nst\n"
        "net = nst.load_vgg19(weights='random', device='cpu')\n"
        "net(nst.load_image('town', size=32), ['relu5_1'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('torchvision'))[:3])\n"
    )
    env = {**__import__("os").environ, "NST_COURSE_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _mapped_from(tensor: torch.Tensor) -> str | None:
    """The file whose mapping in this process holds ``tensor``'s numbers, if any (Linux: /proc/self/maps)."""
    address = tensor.data_ptr()
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, *_, name = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in span.split("-"))
            if start <= address < end and name.startswith("/"):
                return name.strip()
    return None


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc/self/maps")
def test_a_float32_weights_file_is_mapped_not_copied(tmp_path, small_image):
    """The weights are the file's pages (shared by every process that maps the file), not a private copy."""
    model = _stand_in_vgg19(3)
    path = tmp_path / "features.pth"
    torch.save(model.features.state_dict(), path)
    net = nst.load_vgg19(weights=path, device="cpu", pooling="max")
    assert all(_mapped_from(p) == str(path) for p in net.parameters())
    model.features[1].inplace = False
    expected = _features_of(model.features, small_image, nst.LAYER_NAMES.index("conv2_1"))
    assert torch.equal(net(small_image, ["conv2_1"])["conv2_1"], expected)
    # a float16 export is converted to float32: a copy in memory, the same numbers
    half = nst.export_weights(net, tmp_path / "half.pth")
    again = nst.load_vgg19(weights=half, device="cpu")
    assert all(_mapped_from(p) is None for p in again.parameters())
    assert torch.equal(again.layers.conv1_1.weight, net.layers.conv1_1.weight.half().float())


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc/self/maps")
def test_untrained_weights_are_made_once_into_the_cache_and_mapped(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path / "cache"))
    made = weights.random_features(4)
    first = nst.load_vgg19(weights="random", seed=4, device="cpu")
    path = weights.random_weights_path(4)
    assert path.is_file() and path.parent == tmp_path / "cache"
    written = path.stat().st_mtime_ns
    second = nst.load_vgg19(weights="random", seed=4, device="cpu")
    assert path.stat().st_mtime_ns == written, "made once"
    for net in (first, second):
        assert all(_mapped_from(p) == str(path) for p in net.parameters())
        assert all(torch.equal(a, b) for a, b in zip(net.layers.parameters(), made.parameters(), strict=True))
    # a cache that cannot be written: the same weights, made in memory
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("NST_COURSE_CACHE", str(blocked))
    fallback = nst.load_vgg19(weights="random", seed=4, device="cpu")
    assert all(_mapped_from(p) is None for p in fallback.parameters())
    assert torch.equal(fallback.layers.conv5_4.weight, made[34].weight)
    # a damaged cache file: the weights are made in memory, never read wrong
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path / "cache"))
    path.write_bytes(b"cut short")
    assert torch.equal(nst.load_vgg19(weights="random", seed=4, device="cpu").layers.conv5_4.weight, made[34].weight)
