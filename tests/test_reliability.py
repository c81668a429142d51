"""Hostile and unlucky input: tampered files, lost outputs, broken downloads, bad settings.

Each test names the failure it guards; every one gets a one-line NSTError, never a traceback,
and leaves nothing behind. What is promised, and the test that holds it:

- a tampered ImageNet cache file runs no code: test_a_tampered_imagenet_cache_file_is_refused_by_its_hash,
  test_a_tampered_cache_file_with_a_matching_hash_still_runs_no_code, test_the_download_checks_the_published_hash
- no output is replaced without --overwrite, even by a concurrent run:
  test_an_output_made_meanwhile_by_another_run_is_never_replaced,
  test_the_command_line_does_not_replace_a_result_another_run_saved_meanwhile
- an unwritable output is refused before the network loads, OS errors are one line:
  test_an_unwritable_output_is_refused_before_the_network_loads, test_os_errors_while_saving_are_one_line
- scales grow to the size; a stopped coarse pass is upsampled: test_settings_refuse_what_would_crash_or_mislead_later,
  test_a_run_stopped_during_a_coarse_pass_is_still_the_size_asked_for
- SIGTERM saves like Ctrl-C: test_sigterm_saves_the_best_image_like_ctrl_c
- unknown is not trained: test_a_weights_file_without_a_pretrained_key_is_not_called_trained
- downloads: test_two_urls_with_the_same_file_name_are_two_pictures, test_downloads_use_a_temporary_name_of_their_own,
  test_a_cut_off_download_is_not_cached, test_a_damaged_cached_file_is_fetched_again,
  test_a_trickling_server_meets_a_deadline, test_a_malformed_reply_is_one_line
- bad input: the settings, weights-file, image, figure, lessons, pack, explorer, slider and API tests below, and
  the property tests in test_properties.py
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import vgg19

import nst_course as nst
from nst_course.engine import weights
from nst_course.media import samples


class _RunsCode:
    """Unpickling this touches a file: proof that a load ran code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _hostile_cache(tmp_path, monkeypatch) -> tuple[pathlib.Path, pathlib.Path]:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = weights.imagenet_cache_path()
    cached.parent.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    torch.save({"features.0.weight": _RunsCode(marker)}, cached)
    return cached, marker


def test_a_tampered_imagenet_cache_file_is_refused_by_its_hash(tmp_path, monkeypatch, offline):
    _, marker = _hostile_cache(tmp_path, monkeypatch)
    for spec in ("imagenet", "auto"):
        with pytest.warns(UserWarning) if spec == "auto" else pytest.raises(nst.NSTError, match="sha256"):
            nst.load_vgg19(weights=spec, device="cpu")
    assert not marker.exists(), "loading the cache file ran code"


def test_a_tampered_cache_file_with_a_matching_hash_still_runs_no_code(tmp_path, monkeypatch, offline):
    cached, marker = _hostile_cache(tmp_path, monkeypatch)
    monkeypatch.setattr(weights, "_imagenet_sha256_prefix", lambda: hashlib.sha256(cached.read_bytes()).hexdigest()[:8])
    with pytest.raises(nst.NSTError, match="could not load the ImageNet"):
        nst.load_vgg19(weights="imagenet", device="cpu")
    assert not marker.exists(), "the cache file was loaded with weights_only=False"


def test_the_download_checks_the_published_hash(tmp_path, monkeypatch):
    """The real download path: torch's downloader is asked for the hash prefix in torchvision's file name."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "0000")')

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    with pytest.raises(nst.NSTError, match="failed their sha256 check"):
        nst.load_vgg19(weights="imagenet", device="cpu")
    url = weights.IMAGENET_URL
    assert calls == [(url, "dcbb9e9d")] and url.endswith("vgg19-dcbb9e9d.pth")
    assert not weights.imagenet_cache_path().exists()


def _features_state(**extra) -> dict:
    state = {k: torch.zeros_like(v, device="cpu") for k, v in vgg19(weights=None).features.state_dict().items()}
    return state | extra


def test_a_weights_file_without_a_pretrained_key_is_not_called_trained(tmp_path):
    path = tmp_path / "plain.pth"
    torch.save(_features_state(), path)
    net = nst.load_vgg19(weights=path, device="cpu")
    assert not net.weights.pretrained and "not known to be trained" in str(net.weights)
    torch.save({"pretrained": True, "state_dict": _features_state()}, path)
    assert nst.load_vgg19(weights=path, device="cpu").weights.pretrained


@pytest.mark.parametrize(
    "state",
    [
        {0: torch.zeros(3)},
        _features_state(**{"0.bias": [0.0] * 64}),
        _features_state(**{"0.bias": torch.full((64,), float("nan"))}),
        _features_state(**{"34.weight": torch.full((512, 512, 3, 3), float("inf"))}),
    ],
    ids=["int-key", "list-value", "nan", "inf"],
)
def test_weights_files_with_odd_keys_values_or_non_finite_numbers_are_refused(tmp_path, state):
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    with pytest.raises(nst.NSTError, match=r"not a VGG-19 state dict|NaN or infinite"):
        nst.load_vgg19(weights=path, device="cpu")


# --- publishing an output ---------------------------------------------------------------


def test_an_output_made_meanwhile_by_another_run_is_never_replaced(tmp_path):
    from nst_course.media.files import atomic_write

    target = tmp_path / "out.png"

    def slow_write(fh):
        fh.write(b"mine")
        target.write_bytes(b"theirs")  # another run publishes the same new name meanwhile

    with pytest.raises(nst.NSTError, match="exists; choose another name or add --overwrite"):
        atomic_write(target, slow_write, overwrite=False)
    assert target.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_bytes_are_published_whole_and_never_over_a_file_when_told_not_to(tmp_path):
    from nst_course.media.files import atomic_write_bytes

    target = tmp_path / "lesson.ipynb"
    assert atomic_write_bytes(target, b"first") == target and target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    with pytest.raises(nst.NSTError, match="exists; choose another name or add --overwrite"):
        atomic_write_bytes(target, b"third", overwrite=False)
    assert target.read_bytes() == b"second" and [p.name for p in tmp_path.iterdir()] == ["lesson.ipynb"]


def test_the_command_line_does_not_replace_a_result_another_run_saved_meanwhile(tmp_path, monkeypatch, capsys):
    from nst_course.cli import main, tasks

    out = tmp_path / "out.png"
    real = tasks.reconstruct

    def racing(*args, **kwargs):
        result = real(*args, **kwargs)
        out.write_bytes(b"the other run's result")
        return result

    monkeypatch.setattr(tasks, "reconstruct", racing)
    assert main(["reconstruct", "town", "--layer", "relu1_1", "-o", str(out), *FAST]) == 2
    assert "exists; choose another name or add --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"the other run's result"


FAST = ["--size", "32", "--steps", "2", "--weights", "random", "-q"]


@pytest.mark.parametrize("place", ["read-only folder", "folder as target", "file as folder"])
def test_an_unwritable_output_is_refused_before_the_network_loads(tmp_path, monkeypatch, capsys, place):
    from nst_course.cli import main, tasks
    from nst_course.cli import weights as weights_cli

    def no_network(**kwargs):
        raise AssertionError("the network was loaded before the output place was checked")

    monkeypatch.setattr(tasks, "load_vgg19", no_network)
    monkeypatch.setattr(weights_cli, "load_vgg19", no_network)
    if place == "read-only folder":  # /proc refuses new files even to root
        target, export = pathlib.Path("/proc/nst-out.png"), pathlib.Path("/proc/nst-out.pth")
    elif place == "folder as target":
        target = export = tmp_path / "dir.png"
        target.mkdir()
    else:
        (tmp_path / "file").write_text("x")
        target, export = tmp_path / "file" / "out.png", tmp_path / "file" / "out.pth"
    assert main(["reconstruct", "town", "-o", str(target), *FAST]) == 2
    assert main(["weights", "export", str(export), "--weights", "random"]) == 2
    err = capsys.readouterr().err
    assert err.count("nst-course: error:") == 2 and "Traceback" not in err, err


def test_os_errors_while_saving_are_one_line(tmp_path):
    from nst_course.media.files import atomic_write

    def disk_full(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(nst.NSTError, match="disk is full"):
        atomic_write(tmp_path / "x.png", disk_full)
    assert list(tmp_path.iterdir()) == []


# --- settings: one place that validates them ----------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scales": (256, 128)}, "scales must grow and end at the size"),
        ({"scales": (128,)}, "scales must grow and end at the size"),
        ({"size": 128, "scales": (64, 64, 128)}, "scales must grow"),
        ({"content_layers": ()}, "content_layers: no layers given"),
        ({"style_layers": []}, "style_layers: no layers given"),
        ({"style_layers": 5}, "layers must be a list of names"),
        ({"seed": -1}, "seed must be a whole number from 0 to 2"),
        ({"seed": 2**64}, "seed must be a whole number from 0 to 2"),
        ({"steps": True}, "steps must be a whole number"),
        ({"size": True}, "size must be a whole number"),
        ({"content_weight": True}, "content_weight must be a finite number"),
        ({"learning_rate": "1"}, "learning_rate must be > 0"),
        ({"style_blend": (True,)}, "style_blend must be one number"),
    ],
)
def test_settings_refuse_what_would_crash_or_mislead_later(overrides, message):
    with pytest.raises(nst.NSTError, match=message):
        nst.Settings(**overrides)


def test_scales_that_end_at_the_size_are_accepted():
    assert nst.Settings(size=128, scales=(64, 128)).scales == (64, 128)


@pytest.mark.parametrize("args", [["reconstruct", "town", "--layer", ""], ["texture", "mosaic", "--layers", ","]])
def test_an_empty_layer_list_on_the_command_line_is_one_line(tmp_path, capsys, args):
    from nst_course.cli import main

    assert main([*args, "-o", str(tmp_path / "o.png"), *FAST]) == 2
    assert "no layers given" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_a_run_stopped_during_a_coarse_pass_is_still_the_size_asked_for(net):
    def stop_at_once(step, losses, image):
        raise KeyboardInterrupt

    result = nst.reconstruct(
        "town", layer="relu1_1", net=net, size=48, scales=(24, 48), steps=4, callback=stop_at_once, progress=False
    )
    assert result.stopped == "interrupted" and max(result.image.shape[-2:]) == 48
    assert result.metadata()["nst-course:result"]["upsampled_from"] == 24


def _run_cli_and_signal(tmp_path, sig) -> tuple[subprocess.Popen, str, str]:
    out = tmp_path / "partial.png"
    cmd = [sys.executable, "-m", "nst_course", "texture", "mosaic", "-o", str(out), "--size", "32"]
    cmd += ["--steps", "100000", "--weights", "random", "--layers", "relu1_1"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        seen = ""
        while "loss=" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.read(1)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc, stdout, stderr


@pytest.mark.slow  # a fresh Python process
def test_sigterm_saves_the_best_image_like_ctrl_c(tmp_path):
    proc, stdout, stderr = _run_cli_and_signal(tmp_path, signal.SIGTERM)
    assert proc.returncode == 130, stderr
    assert "interrupted: saved the best image so far" in stdout
    assert nst.read_metadata(tmp_path / "partial.png")["nst-course:result"]["stopped"] == "interrupted"


@pytest.mark.slow  # a fresh Python process
@pytest.mark.parametrize(
    "start",
    [
        "runpy.run_module('nst_course', run_name='__main__')",  # python -m nst_course
        "from nst_course.cli import main; raise SystemExit(main(['transfer', 'town', 'swirls']))",  # the script
    ],
)
def test_ctrl_c_while_the_command_line_starts_is_one_line(tmp_path, start):
    code = (
        "import sys, runpy\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'nst_course.cli.tasks':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        f"{start}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and done.stderr.strip() == "nst-course: interrupted", done.stderr


# --- downloads: one function fetches every picture ----------------------------------------


def _jpeg(colour=(200, 30, 30), size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def odd_server():
    """A local HTTP server whose paths misbehave as real servers sometimes do."""
    pictures = {"/a/x.jpg": _jpeg((200, 30, 30)), "/b/x.jpg": _jpeg((30, 30, 200))}
    whole = _jpeg(size=(200, 150))

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path in pictures:
                body = pictures[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/cut.jpg":  # announces the whole file, sends half, closes
                self.send_response(200)
                self.send_header("Content-Length", str(len(whole)))
                self.end_headers()
                self.wfile.write(whole[:-40])  # all but the end: headers parse, pixels do not
            elif self.path == "/cut-unannounced.jpg":  # no length: only decoding can tell
                self.send_response(200)
                self.end_headers()
                self.wfile.write(whole[:-40])  # all but the end: headers parse, pixels do not
                self.close_connection = True
            elif self.path == "/slow.jpg":  # a byte now and then, for ever
                self.send_response(200)
                self.end_headers()
                try:
                    for byte in whole:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass
            elif self.path == "/garbage.jpg":
                self.wfile.write(b"NONSENSE\r\n\r\n")
            elif self.path == "/bad-length.jpg":
                self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: lots\r\n\r\nxx")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_two_urls_with_the_same_file_name_are_two_pictures(tmp_path, monkeypatch, odd_server):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    a = nst.load_image(f"{odd_server}/a/x.jpg")
    b = nst.load_image(f"{odd_server}/b/x.jpg")
    assert a[0, 0].mean() > 0.6 and b[0, 2].mean() > 0.6


def test_downloads_use_a_temporary_name_of_their_own(tmp_path, monkeypatch, odd_server):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    images = tmp_path / "images"
    images.mkdir()
    (images / "x.jpg.part").write_bytes(b"another process is writing this")
    (images / ".x.jpg.part").mkdir()
    assert samples.download(f"{odd_server}/a/x.jpg", filename="x.jpg", progress=False).is_file()
    assert (images / "x.jpg.part").read_bytes() == b"another process is writing this"


@pytest.mark.parametrize("path", ["/cut.jpg", "/cut-unannounced.jpg"])
def test_a_cut_off_download_is_not_cached(tmp_path, monkeypatch, odd_server, path):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    with pytest.raises(nst.NSTError, match=r"cut off|could not download|Pillow can read"):
        samples.download(odd_server + path, progress=False)
    assert [p for p in (tmp_path / "images").iterdir()] == []


def test_a_damaged_cached_file_is_fetched_again(tmp_path, monkeypatch, odd_server):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    (tmp_path / "images").mkdir()
    cached = tmp_path / "images" / "x.jpg"
    cached.write_bytes(_jpeg()[:200])  # cut off by an earlier version
    path = samples.download(f"{odd_server}/a/x.jpg", filename="x.jpg", progress=False)
    assert path == cached and cached.read_bytes() == _jpeg((200, 30, 30))


def test_a_painting_whose_cached_file_is_damaged_falls_back_offline(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "starry_night.jpg").write_bytes(_jpeg()[:200])
    image, caption = nst.load_painting("starry_night", size=32)
    assert "stand-in" in caption and image.shape[0] == 1


def test_a_trickling_server_meets_a_deadline(tmp_path, monkeypatch, odd_server):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(nst.NSTError, match="not finished after 1 s"):
        samples.download(f"{odd_server}/slow.jpg", deadline=1.0, timeout=5.0, progress=False)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("path", ["/garbage.jpg", "/bad-length.jpg"])
def test_a_malformed_reply_is_one_line(tmp_path, monkeypatch, odd_server, path):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    with pytest.raises(nst.NSTError, match="could not download"):
        samples.download(odd_server + path, progress=False)


# --- images: one loader for every source --------------------------------------------------


def test_integer_tensors_are_scaled_not_clamped():
    grey = torch.full((3, 8, 8), 128, dtype=torch.uint8)
    assert torch.allclose(nst.load_image(grey), torch.full((1, 3, 8, 8), 128 / 255))
    assert torch.allclose(nst.load_image(grey.to(torch.int32)), torch.full((1, 3, 8, 8), 128 / 255))


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.zeros(3, 4, 4, dtype=torch.complex64), "real numbers"),
        (torch.full((3, 4, 4), float("nan")), "NaN or infinite"),
        (torch.full((3, 4, 4), float("inf")), "NaN or infinite"),
        (torch.zeros(3, 0, 4), "must have shape"),
    ],
    ids=["complex", "nan", "inf", "empty"],
)
def test_tensors_that_are_not_pictures_are_refused(tensor, message):
    with pytest.raises(nst.NSTError, match=message):
        nst.load_image(tensor)


def test_arrays_with_nan_or_no_pixels_are_refused():
    with pytest.raises(nst.NSTError, match="NaN or infinite"):
        nst.load_image(np.full((4, 4, 3), np.nan, dtype=np.float32))
    with pytest.raises(nst.NSTError, match="must not be empty"):
        nst.load_image(np.zeros((0, 4, 3), dtype=np.uint8))


def test_resize_to_nothing_is_one_line():
    with pytest.raises(nst.NSTError, match="at least 1 pixel"):
        nst.resize(torch.rand(1, 3, 8, 8), (0, 10))
    with pytest.raises(nst.NSTError, match="with pixels"):
        nst.resize(torch.zeros(1, 3, 0, 0), 16)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_large_file_is_shrunk_by_pil_before_it_becomes_floats(tmp_path, monkeypatch, fmt):
    from nst_course.media import images

    path = tmp_path / f"big.{fmt.lower()}"
    Image.new("RGB", (3000, 2000), (10, 200, 30)).save(path, format=fmt)
    seen = []
    real = images.to_tensor
    monkeypatch.setattr(images, "to_tensor", lambda img: seen.append(img.size) or real(img))
    image = nst.load_image(path, size=32)
    assert image.shape == (1, 3, 21, 32) and max(seen[0]) <= 128, seen


def test_a_fifo_named_as_an_image_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(nst.NSTError, match="not a regular file"):
        nst.load_image(fifo)


@pytest.mark.parametrize("size", ["5000", "3"])
def test_a_figure_at_an_impossible_size_is_refused_before_any_memory_is_taken(tmp_path, monkeypatch, capsys, size):
    from nst_course.cli import figure as figures_cli
    from nst_course.cli import main

    monkeypatch.setattr(figures_cli, "load_vgg19", lambda **kw: pytest.fail("the network was loaded first"))
    assert main(["figure", "4", "--out", str(tmp_path / "f"), "--size", size, "--weights", "random", "-q"]) == 2
    assert "size must be a whole number of pixels from 16 to 4096" in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_a_figure_too_large_for_the_memory_is_refused_first(tmp_path, monkeypatch, capsys):
    from nst_course.cli import figure as figures_cli
    from nst_course.cli import main
    from nst_course.engine import estimate

    monkeypatch.setattr(figures_cli, "load_vgg19", lambda **kw: pytest.fail("the network was loaded first"))
    monkeypatch.setattr(estimate, "available_bytes", lambda device: 64 * 2**20)
    assert main(["figure", "4", "--out", str(tmp_path / "f"), "--size", "2048", "--weights", "random"]) == 2
    assert "more memory" in capsys.readouterr().err


# --- the classroom commands ----------------------------------------------------------------


@pytest.fixture
def shipped_lessons(tmp_path, monkeypatch):
    from nst_course.course import classroom

    folder = tmp_path / "shipped"
    folder.mkdir()
    for name in ("00-a.ipynb", "01-b.ipynb"):
        (folder / name).write_text(f'{{"course": "{name}"}}\n')
    monkeypatch.setattr(classroom, "lesson_folder", lambda: folder)
    monkeypatch.setattr(
        classroom, "lesson_files", lambda solutions=False: [pathlib.Path("00-a.ipynb"), pathlib.Path("01-b.ipynb")]
    )
    return folder


@pytest.mark.parametrize("damage", ["manifest is a list", "folder where a notebook goes", "read-only destination"])
def test_lessons_survives_an_odd_destination(tmp_path, shipped_lessons, capsys, damage):
    from nst_course.cli import main
    from nst_course.course import classroom

    work = tmp_path / "work"
    work.mkdir()
    if damage == "manifest is a list":
        (work / classroom.MANIFEST).write_text("[1, 2]")
    elif damage == "folder where a notebook goes":
        (work / "00-a.ipynb").mkdir()
    else:
        work = pathlib.Path("/proc/nst-lessons")  # /proc refuses new files even to root
    status = main(["lessons", str(work)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if damage == "read-only destination":
        assert status == 2 and err.startswith("nst-course: error: cannot write"), err
    else:
        assert status == 0 and (work / "01-b.ipynb").is_file()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"extra_wheels": ["missing.whl"]}, "not a wheel file"),
        ({"python": "eleven"}, "--python must be a Python 3 version"),
        ({"platforms": ["Linux x86"]}, "--platform must be a wheel platform tag"),
        ({"dependencies": True}, "pip (could not resolve the wheels|download failed)"),
    ],
)
def test_a_failed_pack_leaves_nothing_so_the_retry_is_not_refused(tmp_path, monkeypatch, options, message):
    from nst_course.course import pack as offline

    monkeypatch.setattr(offline, "build_wheel", lambda wheels: _fake_course_wheel(wheels))
    monkeypatch.setattr(
        offline.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "no such platform"),
    )
    folder = tmp_path / "pack"
    settings = {"weights": "none", "paintings": "none", "dependencies": False} | options
    for _ in range(2):  # the retry gets the same message, not "not an empty folder"
        with pytest.raises(nst.NSTError, match=message):
            offline.pack(folder, offline.PackOptions(**settings))
        assert not folder.exists() and list(tmp_path.iterdir()) == []


def _fake_course_wheel(folder: pathlib.Path) -> pathlib.Path:
    import zipfile

    path = folder / "nst_course-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("nst_course-0.0.0.dist-info/METADATA", "Name: nst-course\nRequires-Dist: numpy\n")
    return path


# --- the explorer and the sliders ----------------------------------------------------------


@pytest.mark.parametrize("max_maps", [0, -1, True])
def test_the_feature_map_plot_refuses_a_count_below_one(max_maps):
    with pytest.raises(nst.NSTError, match="max_maps must be a whole number of at least 1"):
        nst.plotting.plot_feature_maps(torch.rand(1, 4, 8, 8), max_maps=max_maps)


def test_an_image_too_small_for_the_layer_is_one_line(net):
    with pytest.raises(nst.NSTError, match="too small for relu5_1"):
        net(torch.rand(1, 3, 8, 8), ["relu5_1"])


def test_sliders_keep_a_start_outside_their_usual_range():
    ipywidgets = pytest.importorskip("ipywidgets")
    from nst_course.course.widgets import controls

    size, _ = controls.image_size(16).build(ipywidgets)
    assert size.value == 16 and size.min <= 16
    beta, _ = controls.LogNumber("beta", 1e6, -2, 4).build(ipywidgets)
    assert beta.value == pytest.approx(1e6) and beta.max >= 6
    with pytest.raises(nst.NSTError, match="above 0"):
        controls.LogNumber("beta", 0.0, -2, 4).build(ipywidgets)


# --- the API's smaller edges -----------------------------------------------------------------


class _NotOneNumber:
    layers = ("relu1_1",)

    def __call__(self, features, image):
        return {"mine": features["relu1_1"].pow(2).mean(dim=(0, 2, 3))}  # one value per channel


def test_an_objective_that_returns_no_single_number_is_one_line(net, small_image):
    with pytest.raises(nst.NSTError, match=r"'mine' term must be one number .*\.sum\(\)"):
        nst.optimize(net, _NotOneNumber(), small_image, steps=2, progress=False)


def test_style_loss_without_features_for_a_target_layer_says_what_to_do():
    features = {"relu1_1": torch.rand(1, 4, 8, 8)}
    targets = {"relu1_1": nst.gram_matrix(features["relu1_1"]), "relu2_1": torch.rand(1, 8, 8)}
    with pytest.raises(nst.NSTError, match="no features there"):
        nst.style_loss(features, targets)
    with pytest.raises(nst.NSTError, match="no target Gram matrix"):
        nst.style_loss(features, {"relu1_1": targets["relu1_1"]}, layer_weights={"relu5_1": 1.0})


@pytest.mark.parametrize("seed", [-1, 2**64, True])
def test_a_network_seed_out_of_range_is_one_line(seed):
    with pytest.raises(nst.NSTError, match="seed must be a whole number"):
        nst.load_vgg19(weights="random", seed=seed, device="cpu")
