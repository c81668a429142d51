"""Lesson 06's check answers every kind of learner answer with one ✗ line and False, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_course import check_channel_objective
from nst_course.course.checks.channel import reference_channel_objective


def _objective(body, layers=True):
    """channel_objective(layer, channel) whose objective computes body(features[layer], channel)."""

    def channel_objective(layer, channel):
        def objective(features, image):
            return {"channel": body(features[layer], channel)}

        if layers:
            objective.layers = [layer]
        return objective

    return channel_objective


def _raises(layer, channel):
    raise ValueError("boom")


def _not_written(layer, channel):
    raise NotImplementedError


def _returns(value):
    return lambda layer, channel: value


def _objective_returns(value):
    def channel_objective(layer, channel):
        objective = lambda features, image: value  # noqa: E731
        objective.layers = [layer]
        return objective

    return channel_objective


def _one_argument(layer, channel):
    objective = lambda features: {"c": -features[layer][:, channel].mean()}  # noqa: E731
    objective.layers = [layer]
    return objective


def _layers_string(layer, channel):
    objective = _objective(lambda f, c: -f[:, c].mean(), layers=False)(layer, channel)
    objective.layers = layer
    return objective


WRONG = {
    "plus sign (maximising the loss)": (_objective(lambda f, c: f[:, c].mean()), "MINUS"),
    "batch axis instead of channel axis": (_objective(lambda f, c: -f[c].mean()), "SECOND axis"),
    "sum instead of mean": (_objective(lambda f, c: -f[:, c].sum()), "not the sum"),
    "no .layers": (_objective(lambda f, c: -f[:, c].mean(), layers=False), "no `.layers`"),
    "a string as .layers": (_layers_string, "`.layers` is"),
    "only the first image": (_objective(lambda f, c: -f[0, c].mean()), "first image"),
    "one mean per image, summed": (_objective(lambda f, c: -f[:, c].mean(dim=(1, 2)).sum()), "one mean per image"),
    "all channels": (_objective(lambda f, c: -f.mean()), "one channel"),
    "a float (.item())": (_objective(lambda f, c: -f[:, c].mean().item()), "float"),
    "None from the objective": (_objective(lambda f, c: None), "None"),
    "a numpy number": (_objective(lambda f, c: np.float64(1.0)), "float64"),
    "a string": (_objective(lambda f, c: "loss"), "str"),
    "a tensor of the wrong shape": (_objective(lambda f, c: -f[:, c]), "ONE number"),
    "an integer tensor": (_objective(lambda f, c: torch.tensor(-1)), "dtype"),
    "detached": (_objective(lambda f, c: -f[:, c].mean().detach()), "gradient"),
    "a tensor, not a dict": (_objective_returns(torch.tensor(-1.0, dtype=torch.float64)), "returned a tensor;"),
    "a list, not a dict": (_objective_returns([1.0]), "dict"),
    "an empty dict": (_objective_returns({}), "dict"),
    "objective takes one argument": (_one_argument, "your objective takes"),
    "channel_objective raises": (_raises, "raised ValueError"),
    "channel_objective not written": (_not_written, "not written yet"),
    "channel_objective returns None": (_returns(None), "None"),
    "channel_objective returns a float": (_returns(1.0), "return the objective itself"),
    "channel_objective takes one argument": (lambda layer: None, "takes"),
    "not a function at all": (3.5, "not a function"),
    "a value no rule knows": (_objective(lambda f, c: -2 * f[:, c].mean()), "expected"),
}


@pytest.mark.parametrize("name", WRONG)
def test_every_wrong_answer_gets_one_line_and_false(name, capsys):
    answer, words = WRONG[name]
    assert check_channel_objective(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ channel_objective: ") and out.count("\n") == 1, out
    assert words in out, out


def test_a_right_answer_passes(capsys):
    assert check_channel_objective(_objective(lambda f, c: -f[:, c].mean())) is True
    assert check_channel_objective(reference_channel_objective) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_the_reference_is_what_the_package_maximises():
    """One image, one channel: the reference term is the package's own visualisation term."""
    from nst_course.engine.featurevis import UnitObjective, channel

    features = {"relu2_1": torch.rand(1, 8, 5, 6)}
    package = sum(UnitObjective("relu2_1", (channel(3),))(features, None).values())
    mine = sum(reference_channel_objective("relu2_1", 3)(features, None).values())
    assert torch.allclose(package, mine)


class _BrokenDict(dict):
    def items(self):
        raise RuntimeError("unreadable")


def test_an_answer_no_rule_foresaw_is_still_one_line(capsys):
    assert check_channel_objective(_objective_returns(_BrokenDict(c=1))) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ channel_objective: the check could not use your answer"), out
