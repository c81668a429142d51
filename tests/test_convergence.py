"""The loop stops when it is done, never blows up, and says truthfully why and when it stopped."""

from __future__ import annotations

import itertools

import pytest
import torch

import nst_course as nst
from nst_course.optimize import converged

# At 48 px this pair made the clamped L-BFGS loop jump to 22x its best loss (benchmarks/RESULTS-loop.md).
SIZE = 48


@pytest.fixture(scope="module")
def pair():
    return nst.load_image("town", size=SIZE), nst.load_image("swirls", size=SIZE)


def running_min(values):
    return list(itertools.accumulate(values, min))


def objective_loss(net, content, style, image):
    """The transfer loss of ``image``, measured independently of the loop."""
    settings = nst.Settings()
    layers = [*settings.content_layers, *settings.style_layers]
    with torch.no_grad():
        objective = nst.Objective(
            content_targets=dict(net(content, settings.content_layers)),
            style_targets={k: nst.gram_matrix(v) for k, v in net(style, settings.style_layers).items()},
            content_weight=settings.content_weight,
            style_weight=settings.style_weight,
        )
        return float(torch.stack(list(objective(net(image, layers), image).values())).sum())


@pytest.mark.slow
def test_a_long_run_never_jumps_far_above_its_best(net, pair):
    content, style = pair
    result = nst.transfer(content, style, net=net, size=SIZE, steps=60, stop_tolerance=0, progress=False)
    total = result.history["total"]
    assert result.stopped == "finished" and len(total) == 60
    best = running_min(total)
    worst = max(later / before for later, before in zip(total[1:], best, strict=False))
    assert worst <= 1.5, f"the loss rose to {worst:.2f}x its best so far"
    assert best[-1] < 0.1 * total[0]


def test_the_rule_on_sequences():
    assert not converged([], 0.005, 20)
    assert not converged([1.0] * 20, 0.005, 20)  # a window needs window + 1 values
    assert converged([1.0] * 21, 0.005, 20)
    assert not converged([1.0] * 21, 0.0, 20)  # tolerance 0: never
    improving = [0.97**k for k in range(100)]  # 3% a step: about 45% over 20 steps
    assert not any(converged(improving[:n], 0.005, 20) for n in range(len(improving) + 1))
    flat_tail = [*improving[:30], *([improving[29]] * 30)]
    stops = [n for n in range(len(flat_tail) + 1) if converged(flat_tail[:n], 0.005, 20)]
    assert stops[0] == 30 + 20


@pytest.mark.slow
def test_the_rule_stops_a_converged_run_early_and_its_records_are_true(net, pair):
    content, style = pair
    result = nst.transfer(content, style, net=net, size=SIZE, steps=300, progress=False)
    total = result.history["total"]
    assert result.stopped == "converged"
    assert result.converged_step == result.steps_done == len(total) < 300
    best = running_min(total)
    first = next(n for n in range(1, len(best) + 1) if converged(best[:n], result.settings["stop_tolerance"], 20))
    assert first == result.converged_step
    assert total[result.best_step] == min(total)
    assert objective_loss(net, content, style, result.image) == pytest.approx(min(total), rel=1e-4)
    recorded = result.metadata()["nst-course:result"]
    assert recorded["stopped"] == "converged" and recorded["converged_step"] == result.converged_step


def test_the_rule_does_not_stop_a_run_that_is_still_improving(net, pair):
    content, style = pair
    result = nst.transfer(content, style, net=net, size=SIZE, steps=12, stop_window=5, progress=False)
    assert result.stopped == "finished" and result.converged_step is None and result.steps_done == 12
    total = result.history["total"]
    assert total[-1] < 0.9 * total[-6]  # it really was still improving when the steps ran out


def test_stop_settings_are_checked():
    with pytest.raises(nst.NSTError, match="stop_tolerance must be a fraction"):
        nst.Settings(stop_tolerance=1.5)
    with pytest.raises(nst.NSTError, match="stop_window must be a whole number"):
        nst.Settings(stop_window=0)
