"""The command line: results with metadata, and one clear line for each mistake."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import nst_course as nst
from nst_course import cli
from nst_course.cli import COMMANDS, build_parser, main

FAST = ["--size", "32", "--steps", "3", "--weights", "random", "-q"]


def test_one_table_names_every_subcommand_and_its_module():
    """COMMANDS is the only list of subcommands: each module of cli/ carries some, and adds exactly those."""
    helpers = {"__init__", "parsing"}  # the table itself, and what the parsers share
    modules = {path.stem for path in Path(cli.__file__).parent.glob("*.py")} - helpers
    assert set(COMMANDS.values()) == modules
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == list(COMMANDS)
    for module in modules:
        names = [name for name, owner in COMMANDS.items() if owner == module]
        alone = next(a for a in build_parser(names)._actions if isinstance(a, argparse._SubParsersAction))
        assert list(alone.choices) == names, module


def test_a_mistake_warning_and_interruption_are_one_line_each(capsys):
    def mistake() -> int:
        raise nst.NSTError("say what to do")

    def interrupted() -> int:
        raise KeyboardInterrupt

    def warns() -> int:
        warnings.warn("look out", stacklevel=1)
        return 0

    before = warnings.showwarning
    assert [cli.one_line(f) for f in (mistake, interrupted, warns)] == [2, 130, 0]
    assert warnings.showwarning is before
    assert capsys.readouterr().err == (
        "nst-course: error: say what to do\nnst-course: interrupted\nnst-course: warning: look out\n"
    )


def test_transfer_saves_a_png_with_settings_seed_and_weights(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["transfer", "town", "swirls", "-o", str(out), *FAST, "--seed", "7", "--style-weight", "5"]) == 0
    meta = nst.read_metadata(out)
    assert meta["nst-course:weights"] == "random (untrained, seed 7)"
    assert meta["nst-course:seed"] == 7
    assert meta["nst-course:settings"]["style_weight"] == 5.0 and meta["nst-course:settings"]["size"] == 32
    assert set(meta["nst-course:versions"]) >= {"torch", "torchvision", "nst-course"}
    assert max(Image.open(out).size) == 32
    captured = capsys.readouterr()
    assert "saved" in captured.out and "weights: random (untrained, seed 7)" in captured.err


def test_reconstruct_and_texture(tmp_path):
    assert main(["reconstruct", "hopper", "--layer", "conv2_2", "-o", str(tmp_path / "r.png"), *FAST]) == 0
    assert nst.read_metadata(tmp_path / "r.png")["nst-course:settings"]["content_layers"] == ["conv2_2"]
    assert main(["texture", "mosaic", "--layers", "conv1_1,conv2_1", "-o", str(tmp_path / "t.png"), *FAST]) == 0
    assert nst.read_metadata(tmp_path / "t.png")["nst-course:settings"]["style_layers"] == ["conv1_1", "conv2_1"]


def test_awkward_but_valid_images_just_work(tmp_path):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(tmp_path / "rgba.png")
    Image.fromarray(rng.integers(0, 65535, (40, 50), dtype=np.uint16)).save(tmp_path / "deep.png")
    for content, style in [("cmyk.jpg", "rgba.png"), ("deep.png", "cmyk.jpg")]:
        out = tmp_path / f"{content}-{style}.png"
        assert main(["transfer", str(tmp_path / content), str(tmp_path / style), "-o", str(out), *FAST]) == 0
        assert out.is_file()


@pytest.mark.slow
def test_ctrl_c_saves_the_best_image_so_far(tmp_path):
    out = tmp_path / "partial.png"
    cmd = [
        sys.executable,
        "-m",
        "nst_course",
        "transfer",
        "town",
        "swirls",
        "-o",
        str(out),
        "--size",
        "48",
        "--steps",
        "100000",
        "--weights",
        "random",
    ]
    # A program started from a non-interactive shell's background job inherits SIGINT as
    # ignored, and Python then never raises KeyboardInterrupt. Give the child the default
    # disposition, so that this tests the program and not how pytest was started.
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
        while "loss=" not in seen and time.monotonic() < deadline:  # wait until a few steps are done
            seen += proc.stderr.read(1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted: saved the best image so far" in stdout
    meta = nst.read_metadata(out)
    assert meta["nst-course:result"]["stopped"] == "interrupted"
    assert 0 < meta["nst-course:result"]["steps_done"] < 100000


def test_an_existing_result_is_not_overwritten_by_accident(tmp_path, capsys):
    out = tmp_path / "keep.png"
    nst.save_image(torch.zeros(1, 3, 8, 8), out)
    before = out.read_bytes()
    assert main(["transfer", "town", "swirls", "-o", str(out), *FAST]) == 2
    assert "exists; choose another name or add --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["transfer", "town", "swirls", "-o", str(out), *FAST, "--overwrite"]) == 0


def test_weights_export_then_use(tmp_path, capsys, monkeypatch):
    path = tmp_path / "vgg.pth"
    before = warnings.showwarning
    assert main(["weights", "export", str(path), "--weights", "random"]) == 0
    assert warnings.showwarning is before, "the command line changed how warnings are shown for the whole process"
    err = capsys.readouterr().err
    assert err == "nst-course: warning: exporting random (untrained, seed 0): these are NOT trained weights\n"
    out = tmp_path / "o.png"
    monkeypatch.setenv("NST_COURSE_WEIGHTS", str(path))  # no --weights: the variable decides
    assert main(["transfer", "town", "swirls", "-o", str(out), "--size", "32", "--steps", "2", "-q"]) == 0
    weights = nst.read_metadata(out)["nst-course:weights"]
    assert weights.startswith("file vgg.pth (sha256 ") and "random (untrained, seed 0)" in weights
    assert main(["weights", "info", "--weights", "random"]) == 0
    assert "in use now: random (untrained, seed 0)" in capsys.readouterr().out


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nst_course", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


R = ["--weights", "random", "-q"]


@pytest.mark.slow  # one fresh Python process each
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transfer", "missing.jpg", "swirls", "-o", "o.png", *R], "no such image file: 'missing.jpg'"),
        (["transfer", "corrupt.jpg", "swirls", "-o", "o.png", *R], "corrupt.jpg could not be read as an image"),
        (["transfer", "text.png", "swirls", "-o", "o.png", *R], "text.png is not an image file"),
        (["reconstruct", "town", "--layer", "conv4_9", "-o", "o.png", *R], "unknown layer 'conv4_9'; valid names:"),
        (["transfer", "town", "swirls", "-o", "o.png", "--weights", "junk.pth"], "cannot read weights file junk.pth"),
        (
            ["transfer", "town", "swirls", "-o", "o.png", "--weights", "gone.pth"],
            "weights file gone.pth does not exist",
        ),
        (["transfer", "town", "swirls", "-o", "o.jpg", *R], "name the output *.png"),
        (["transfer", "town", "swirls", "-o", "o.png", "--size", "2", *R], "size must be a whole number"),
        (["transfer", "town", "swirls", "-o", "o.png", "--size", "20", *R], f"too small for {nst.STYLE_LAYERS[-1]}"),
        (["transfer", "town", "-o", "o.png", *R], "the following arguments are required: style"),
        (["weights", "export"], "weights export needs a file to write"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, args, message):
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "junk.pth").write_text("junk")
    done = _cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if not line.startswith("weights:")]
    assert len(lines) == 1, done.stderr
    assert message in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow
def test_help_shows_examples():
    done = subprocess.run([sys.executable, "-m", "nst_course", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "examples:" in done.stdout and "nst-course transfer town swirls" in done.stdout
