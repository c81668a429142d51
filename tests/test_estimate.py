"""Estimates before a run: they grow as the work does, and a run that cannot fit is refused before it starts.

No timing is checked here (that belongs in benchmarks/estimate_accuracy.py): the timed
probe is replaced by a known number of seconds per pass where a test needs one.
"""

from __future__ import annotations

import pytest

import nst_course as nst
from nst_course.cli import main
from nst_course.engine import estimate, tasks

LAYERS = ["relu4_2", *nst.STYLE_LAYERS]


def test_memory_grows_with_the_pixels_the_depth_and_the_optimizer():
    fixed = estimate.RUN_CONSTANT
    small, large = estimate.run_bytes((96, 128), LAYERS) - fixed, estimate.run_bytes((192, 256), LAYERS) - fixed
    assert 3.5 < large / small < 4.5, "four times the pixels, about four times the memory (beyond a fixed part)"
    assert estimate.run_bytes((192, 256), ["relu1_1"]) - fixed < 0.5 * large, "stopping at relu1_1 keeps far less"
    assert estimate.run_bytes((192, 256), LAYERS, "adam") - fixed < large, "Adam keeps 2 vectors, L-BFGS 100"
    assert estimate.run_bytes((192, 256), LAYERS, steps=5) < estimate.run_bytes((192, 256), LAYERS, steps=50)
    assert estimate.run_bytes((192, 256), LAYERS, steps=50) == estimate.run_bytes((192, 256), LAYERS, steps=500)


def test_time_grows_with_steps_runs_and_scales(net, monkeypatch):
    seconds_per_pixel = 1e-4
    monkeypatch.setattr(
        estimate, "seconds_per_evaluation", lambda net, shape, layers, **kw: shape[0] * shape[1] * seconds_per_pixel
    )
    cfg = nst.Settings(size=64, steps=100, scales=(64,))
    one = estimate.estimate_settings(net, cfg, shape=(480, 640))
    assert one.scales == (64,) and one.steps == 100
    per_step = 48 * 64 * seconds_per_pixel
    assert 1.0 < one.seconds / (100 * per_step) < 1.6, "one pass a step, plus the line search and the optimiser"
    twice = estimate.estimate_settings(net, nst.Settings(size=64, steps=200, scales=(64,)), shape=(480, 640))
    assert 1.8 < twice.seconds / one.seconds <= 2.0, "twice the steps, twice the time but the fixed passes"
    assert estimate.estimate_settings(net, cfg, shape=(480, 640), runs=3).seconds == pytest.approx(3 * one.seconds)
    coarse = estimate.estimate_settings(net, nst.Settings(size=64, steps=100, scales=(32, 64)), shape=(480, 640))
    assert coarse.scales == (32, 64) and 0.5 * one.seconds < coarse.seconds < 0.75 * one.seconds
    assert one.peak_bytes == pytest.approx(estimate.in_use_bytes("cpu") + one.run_bytes, rel=0.05)
    assert "about" in one.line() and "for at most 100 steps" in one.line() and "MiB" in one.line()


def test_the_probe_times_the_network_and_leaves_the_random_state_alone(net):
    import torch

    before = torch.random.get_rng_state()
    seconds = estimate.seconds_per_evaluation(net, (16, 16), ["relu1_1"])
    assert 0 < seconds < 60 and torch.equal(before, torch.random.get_rng_state())


def test_the_available_memory_is_read(net):
    available = estimate.available_bytes("cpu")
    assert available is None or available > 0
    assert estimate.in_use_bytes("cpu") > 50 * 2**20  # torch and the network are loaded


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend only the memory of a 64 px transfer is free."""
    free = int(estimate.run_bytes(estimate.shape_at((480, 640), 64), LAYERS) / estimate.HEADROOM)
    monkeypatch.setattr(estimate, "available_bytes", lambda device: free)
    return free


def test_a_run_that_will_not_fit_is_refused_before_it_starts(net, little_memory, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the loop started")

    monkeypatch.setattr(tasks, "run_loop", never)
    with pytest.raises(nst.NSTError) as refused:
        nst.transfer("town", "swirls", net=net, size=256, steps=10, progress=False)
    message = str(refused.value)
    assert "\n" not in message and "256 px" in message and "MiB" in message
    fits = int(message.split("use a size of at most ")[1].split(" px")[0])
    shape = nst.load_image("town").shape
    assert 48 <= fits < 256
    assert estimate.run_bytes(estimate.shape_at(shape, fits), LAYERS, steps=10) <= 0.9 * little_memory
    assert estimate.run_bytes(estimate.shape_at(shape, fits + 16), LAYERS, steps=10) > 0.9 * little_memory


def test_a_run_that_fits_is_not_refused(net, little_memory):
    result = nst.transfer("town", "swirls", net=net, size=32, steps=2, progress=False)
    assert result.steps_done == 2


def test_the_command_line_refuses_before_loading_the_network(tmp_path, little_memory, monkeypatch, capsys):
    from nst_course.cli import tasks as cli

    def never(*args, **kwargs):
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(cli, "load_vgg19", never)
    out = tmp_path / "big.png"
    assert main(["transfer", "town", "swirls", "-o", str(out), "--size", "1024", "--weights", "random", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "1024 px" in err and "use a size of at most" in err and not out.exists()


def test_the_command_line_says_what_a_run_will_cost_before_it_starts(tmp_path, capsys):
    out = tmp_path / "small.png"
    assert main(["reconstruct", "town", "-o", str(out), "--size", "32", "--steps", "2", "--weights", "random"]) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("estimate: "))
    assert "about" in line and "for at most 2 steps" in line and "MiB" in line


def test_an_explorer_shows_the_estimate_before_run(net, monkeypatch):
    pytest.importorskip("ipywidgets")
    from nst_course.course.widgets import explorers, runtime

    monkeypatch.setattr(runtime, "front_end_available", lambda: True)
    explorer = explorers.transfer_explorer("town", "swirls", net, settings=nst.Settings(size=32, steps=3))
    assert explorer.status.value.startswith("Press <b>Run</b> to start: about ")
    assert "for at most 3 steps" in explorer.status.value and "MiB" in explorer.status.value
