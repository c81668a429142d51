"""Property tests of the input boundary: whatever comes in, the package answers with a result
or with its own one-line NSTError, never another traceback, and writes nothing when it fails."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import nst_course as nst
from nst_course.engine.settings import plan_scales

QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16"]
FORMATS = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"), "JPEG": ("L", "RGB", "CMYK"), "GIF": ("L", "P")}
FORMATS |= {"BMP": ("1", "L", "P", "RGB"), "TIFF": tuple(MODES)}


@st.composite
def image_files(draw) -> bytes:
    """The bytes of a real picture: a random format, mode, size and content."""
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    picture = Image.fromarray(noise, "RGB").convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


@st.composite
def damaged(draw, files) -> bytes:
    """A real picture cut short, with bytes flipped, or plain random bytes."""
    how = draw(st.sampled_from(["cut", "flip", "random"]))
    if how == "random":
        return draw(st.binary(max_size=400))
    data = bytearray(draw(files))
    if how == "cut":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(data)


def _is_picture(image: torch.Tensor) -> bool:
    return image.ndim == 4 and image.shape[:2] == (1, 3) and bool(torch.isfinite(image).all())


def _load_file(data: bytes, size: int | None) -> torch.Tensor | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "picture.img"
        path.write_bytes(data)
        try:
            return nst.load_image(path, size=size)
        except nst.NSTError as exc:
            assert "\n" not in str(exc)
            return None


@QUICK
@given(image_files(), st.one_of(st.none(), st.integers(8, 64)))
def test_every_real_picture_loads_as_rgb_in_0_1(data, size):
    image = _load_file(data, size)
    assert image is not None and _is_picture(image)
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    if size is not None:
        assert max(image.shape[-2:]) == size


@QUICK
@given(damaged(image_files()), st.one_of(st.none(), st.integers(8, 64)))
def test_damaged_files_give_a_picture_or_one_line(data, size):
    image = _load_file(data, size)
    assert image is None or _is_picture(image)


ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet="relu_1234 ,", max_size=8),
    st.sampled_from(["relu4_2", "relu1_1", "lbfgs", "adam", "noise", "paper", "luminance"]),
    st.lists(st.one_of(st.integers(-5, 600), st.floats(), st.sampled_from(["relu1_1", "pool5", ""])), max_size=4).map(
        tuple
    ),
)
FIELDS = [
    "size",
    "steps",
    "optimizer",
    "learning_rate",
    "stop_tolerance",
    "stop_window",
    "init",
    "seed",
    "content_layers",
    "style_layers",
    "style_layer_weights",
    "content_weight",
    "style_weight",
    "tv_weight",
    "normalization",
    "scales",
    "preserve_colour",
    "style_scale",
    "style_blend",
]


@QUICK
@given(st.dictionaries(st.sampled_from(FIELDS), ANY, max_size=4))
def test_any_settings_are_accepted_or_refused_in_one_line(fields):
    try:
        made = nst.Settings(**fields)
    except nst.NSTError as exc:
        assert "\n" not in str(exc)
        return
    assert made.steps >= 1 and 16 <= made.size <= 4096 and math.isfinite(made.beta)
    assert plan_scales(made)[-1] == made.size


DTYPES = [torch.uint8, torch.int16, torch.int64, torch.float16, torch.float32, torch.float64, torch.bool]


@st.composite
def tensors(draw) -> torch.Tensor:
    picture = st.tuples(st.integers(0, 6), st.integers(0, 6)).map(lambda hw: (1, 3, *hw))
    shape = draw(st.one_of(picture, picture.map(lambda s: s[1:]), st.lists(st.integers(0, 6), min_size=1, max_size=5)))
    dtype = draw(st.sampled_from([*DTYPES, torch.complex64]))
    values = draw(st.sampled_from(["rand", "big", "nan", "negative"]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    base = torch.rand(shape, generator=generator) * (1000.0 if values == "big" else 1.0)
    if values == "nan" and base.numel():
        base.view(-1)[0] = float("nan")
    if values == "negative":
        base = -base
    if dtype in (torch.uint8, torch.bool) or not (dtype.is_floating_point or dtype.is_complex):
        base = torch.nan_to_num(base).clamp(min=0 if dtype in (torch.uint8, torch.bool) else -1000)
    return base.to(dtype)


@QUICK
@given(tensors(), st.one_of(st.integers(-3, 40), st.tuples(st.integers(-2, 20), st.integers(-2, 20))))
def test_any_tensor_through_the_public_api_is_a_picture_or_one_line(tmp_path, tensor, size):
    try:
        image = nst.load_image(tensor)
    except nst.NSTError as exc:
        assert "\n" not in str(exc)
        return
    assert _is_picture(image) and float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    try:
        small = nst.resize(image, size)
    except nst.NSTError:
        return
    out = tmp_path / f"{abs(hash((tuple(tensor.shape), str(size))))}.png"
    nst.save_image(small, out)
    assert out.is_file()


@QUICK
@given(tensors(), st.sampled_from(["out.png", "out.jpg", "sub/out.png"]))
def test_a_failed_save_writes_nothing(tmp_path, tensor, name):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        nst.save_image(tensor, folder / name, overwrite=False)
    except nst.NSTError:
        assert [p for p in folder.rglob("*") if p.is_file()] == []
    else:
        assert (folder / name).is_file() and len([p for p in folder.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize("max_maps", [1, 3, 40])
def test_the_feature_map_plot_takes_any_count_from_one(max_maps):
    figure = nst.plotting.plot_feature_maps(torch.rand(1, 4, 5, 5), max_maps=max_maps)
    assert figure.axes
