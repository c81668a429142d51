"""Loading every kind of image, saving with metadata, and the built-in samples."""

from __future__ import annotations

import http.server
import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import nst_course as nst
from nst_course.media import samples
from nst_course.media.images import open_rgb, pil_to_rgb


def _gradient(width: int = 40, height: int = 30) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, x, y], axis=-1))  # brighter to the right


def _check_tensor(t: torch.Tensor, height: int, width: int) -> None:
    assert t.shape == (1, 3, height, width) and t.dtype == torch.float32
    assert t.min() >= 0.0 and t.max() <= 1.0


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1", "YCbCr"])
def test_every_pillow_mode_becomes_rgb(tmp_path, mode):
    base = _gradient()
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)  # a 16-bit PNG
    elif mode == "I":
        img = Image.fromarray(np.asarray(base.convert("L"), np.int32) * 257)
    elif mode == "F":
        img = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255.0)
    else:
        img = base.convert(mode)
    assert img.mode == mode
    suffix = {"CMYK": ".jpg", "F": ".tif", "I": ".tif", "YCbCr": ".jpg"}.get(mode, ".png")
    path = tmp_path / f"img{suffix}"
    img.save(path)
    t = nst.load_image(path)
    _check_tensor(t, 30, 40)
    red = t[0, 0]
    assert red[0, -1] > red[0, 0] + 0.5, "the image content must survive the conversion"
    if mode in ("I;16", "I", "F", "L"):  # grey stays grey, and the full range is kept
        assert torch.allclose(t[:, 0], t[:, 1], atol=1 / 255) and t.max() > 0.95 and t.min() < 0.05
    small = nst.load_image(path, size=8)  # shrunk while decoding, in every mode
    assert max(small.shape[-2:]) == 8 and small.min() >= 0.0 and small.max() <= 1.0


def test_transparent_pixels_are_laid_over_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.putpixel((0, 0), (0, 0, 255, 255))
    t = nst.load_image(img)
    assert torch.allclose(t[0, :, 1, 1], torch.ones(3))
    assert torch.allclose(t[0, :, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    palette = img.convert("P")  # a palette image with a transparency entry
    assert pil_to_rgb(palette).mode == "RGB"


def test_exif_orientation_is_honoured(tmp_path):
    img = _gradient(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    t = nst.load_image(path)
    _check_tensor(t, 40, 30)


def test_resize_keeps_the_aspect_ratio():
    t = nst.load_image(_gradient(400, 300), size=100)
    _check_tensor(t, 75, 100)
    tall = nst.resize(torch.rand(1, 3, 300, 120), 50)
    assert tall.shape == (1, 3, 50, 20)
    assert nst.resize(torch.rand(1, 3, 10, 20), (5, 7)).shape == (1, 3, 5, 7)
    with pytest.raises(nst.NSTError, match="at least 8"):
        nst.resize(torch.rand(1, 3, 10, 20), 2)


@pytest.mark.parametrize(
    ("array", "shape"),
    [
        (np.zeros((5, 6), np.uint8), (5, 6)),
        (np.ones((5, 6, 3), np.float32), (5, 6)),
        (np.full((5, 6, 4), 65535, np.uint16), (5, 6)),
        (np.zeros((5, 6, 1), np.float64), (5, 6)),
    ],
)
def test_arrays_and_tensors_load(array, shape):
    _check_tensor(nst.load_image(array), *shape)
    _check_tensor(nst.load_image(torch.rand(3, *shape)), *shape)


def test_bad_sources_get_clear_errors(tmp_path):
    with pytest.raises(nst.NSTError, match=r"no such image file.*built-in sample"):
        nst.load_image(tmp_path / "missing.jpg")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(nst.NSTError, match=r"corrupt\.png"):
        nst.load_image(corrupt)
    truncated = tmp_path / "truncated.jpg"
    _gradient().save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(nst.NSTError, match=r"truncated\.jpg"):
        nst.load_image(truncated)
    with pytest.raises(nst.NSTError, match="is a folder"):
        nst.load_image(tmp_path)
    with pytest.raises(nst.NSTError, match=r"shape \(H, W\)"):
        nst.load_image(np.zeros((2, 3, 4, 5)))
    with pytest.raises(nst.NSTError, match="cannot make an image"):
        nst.load_image(12)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds no pixels: what a decompression bomb looks like at first."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(9_000, 9_000))
    with pytest.raises(nst.NSTError, match="9000x9000 pixels, more than the limit"):
        nst.load_image(bomb)
    bomb.write_bytes(_png_header_only(50_000, 50_000))  # Pillow's own guard speaks first
    with pytest.raises(nst.NSTError, match="enormous size"):
        nst.load_image(bomb)
    small = tmp_path / "small.png"
    _gradient().save(small)
    with pytest.raises(nst.NSTError, match="limit"):
        open_rgb(small, max_pixels=100)


def test_save_is_atomic_png_with_metadata(tmp_path):
    image = nst.load_image(_gradient())
    out = nst.save_image(image, tmp_path / "sub" / "out.png", metadata={"settings": {"seed": 3}, "note": "hi"})
    assert [p.name for p in out.parent.iterdir()] == ["out.png"], "no temporary file may be left behind"
    assert out.stat().st_mode & 0o044 == 0o044, "a saved result is readable by others, like any new file"
    meta = nst.read_metadata(out)
    assert meta == {"settings": {"seed": 3}, "note": "hi"}
    again = nst.load_image(out)
    assert (again - image).abs().max() <= 1 / 255 + 1e-6
    with pytest.raises(nst.NSTError, match="PNG"):
        nst.save_image(image, tmp_path / "out.jpg")


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], ids=oct)
def test_saved_files_follow_the_umask_which_saving_never_touches(tmp_path, monkeypatch, umask):
    old = os.umask(umask)
    try:

        def forbidden(*args):
            raise AssertionError("saving an image must not change the process umask")

        monkeypatch.setattr(os, "umask", forbidden)
        out = nst.save_image(torch.zeros(1, 3, 8, 8), tmp_path / "out.png")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    nst.save_image(torch.zeros(1, 3, 8, 8), path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full (test)")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(nst.NSTError, match=r"cannot write .*keep.png: disk full"):  # one line, not a traceback
        nst.save_image(torch.ones(1, 3, 8, 8), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


@pytest.mark.parametrize("name", ["hopper", "town", "swirls", "waves", "mosaic", "storm", "shapes"])
def test_offline_samples_are_deterministic_images(name):
    a = nst.load_image(name, size=64)
    b = nst.load_image(name, size=64)
    assert torch.equal(a, b)
    assert a.shape[:2] == (1, 3) and max(a.shape[-2:]) == 64
    assert a.std() > 0.05, "a sample must not be blank"


def test_paintings_fall_back_offline_with_a_warning(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    with pytest.warns(UserWarning, match="The Starry Night is not available.*'swirls'"):
        image = nst.load_image("starry_night", size=48)
    assert torch.equal(image, nst.load_image("swirls", size=48))


def test_a_painting_says_when_it_is_a_stand_in_without_warnings(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the record says it; no warning is needed to find out
        starry, starry_caption = nst.load_painting("starry_night", size=32)
        _, picasso_caption = nst.load_painting("portrait_of_picasso", size=32)
        _, town_caption = nst.load_painting("town", size=32)
    assert samples.find_sample("starry_night").is_stand_in and not samples.find_sample("town").is_stand_in
    assert starry_caption == "'swirls' (built-in stand-in: The Starry Night is not downloaded)"
    assert torch.equal(starry, nst.load_image("swirls", size=32))
    assert picasso_caption.startswith("'mosaic' (built-in stand-in: Portrait of Pablo")
    assert town_caption == "'town' (built-in)"


def test_a_downloaded_painting_is_named_as_itself(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    (tmp_path / "images").mkdir()
    _gradient(40, 30).save(tmp_path / "images" / "starry_night.jpg")  # as if downloaded before
    image, caption = nst.load_painting("starry_night", size=20)
    assert not samples.find_sample("starry_night").is_stand_in
    assert caption == "The Starry Night, Vincent van Gogh (1889)" and image.shape == (1, 3, 15, 20)
    assert nst.load_painting("starry_night")[0].shape == (1, 3, 30, 40)
    with pytest.raises(nst.NSTError, match=r"no painting 'mona_lisa'; choose one of: starry_night, .*portrait_of"):
        nst.load_painting("mona_lisa")


@pytest.fixture
def image_server(tmp_path):
    """A tiny HTTP server on 127.0.0.1 serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_urls_download_once_into_the_cache(tmp_path, monkeypatch, image_server):
    root, base = image_server
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path / "cache"))
    _gradient().save(root / "photo.png")
    t = nst.load_image(f"{base}/photo.png", size=20)
    _check_tensor(t, 15, 20)
    [cached] = (tmp_path / "cache" / "images").glob("photo-*.png")  # the name carries a hash of the URL
    assert cached.is_file()
    (root / "photo.png").unlink()  # a second load needs no server
    _check_tensor(nst.load_image(f"{base}/photo.png"), 30, 40)


def test_downloads_are_capped_and_checked(tmp_path, monkeypatch, image_server):
    root, base = image_server
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path / "cache"))
    (root / "big.png").write_bytes(b"x" * 5000)
    with pytest.raises(nst.NSTError, match="limit"):
        samples.download(f"{base}/big.png", max_bytes=1000, progress=False)
    (root / "page.png").write_text("<html>not an image</html>")
    with pytest.raises(nst.NSTError):
        samples.download(f"{base}/page.png", progress=False)
    with pytest.raises(nst.NSTError, match="could not download"):
        samples.download(f"{base}/missing.png", progress=False)
    assert not list(Path(tmp_path / "cache" / "images").glob("*")), "nothing half-downloaded may stay in the cache"


def test_the_five_paintings_of_fig3_have_five_different_stand_ins(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    names = ["shipwreck", "starry_night", "the_scream", "portrait_of_picasso", "composition_vii"]
    captions = [nst.load_painting(name, size=32)[1] for name in names]
    stand_ins = [caption.split("'")[1] for caption in captions]
    assert len(set(stand_ins)) == 5, stand_ins
