"""The exercise checks: each right answer passes, and each plausible wrong answer gets its own hint."""

from __future__ import annotations

import pytest
import torch
from support import load_tool

import nst_course as nst
from nst_course.course import checks


def _unwritten(*args):
    raise NotImplementedError("write it")


def _run(check, fn, capsys):
    passed = check(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # one line, whatever happened
    return passed, out


# ---------------------------------------------------------------- content loss (lesson 01)


def _ours_content(f, p):
    return 0.5 * (f - p).pow(2).sum()


CONTENT_CASES = [
    (_ours_content, "✓ content_loss"),
    (_unwritten, "not written yet"),
    (lambda f, p: None, "forget the `return`"),
    (lambda f, p: (f - p).pow(2).sum(), "forgot the 1/2"),
    (lambda f, p: (f - p).pow(2).mean(), "took the mean"),
    (lambda f, p: 0.5 * (f - p).pow(2), "ONE number"),
    (lambda f, p: 0.5 * (f - p).abs().sum(), "absolute"),
    (lambda f, p: (f - p).pow(2).sum() / p.pow(2).sum(), "'relative'"),
    (lambda f, p: 0.5 * (f[:1] - p[:1]).pow(2).sum(), "first image of the batch"),
    (lambda f, p: float(0.5 * (f - p).pow(2).sum()), "returned a float"),
    (lambda f, p: torch.tensor((0.5 * (f - p).pow(2).sum()).item()), "no gradient flows"),
    (lambda f, p: 0.5 * (f - p).detach().pow(2).sum(), "no gradient flows"),
    (lambda f, p: 0.5 * (f - p).pow(2).sum() + (f.detach() - f).sum() * 0 + 0.5 * (f - f.detach()).sum(), "gradient"),
    (lambda f, p: f.shape[0] * _ours_content(f, p), "the batch was counted twice"),
    (lambda f, p: _ours_content(f, p) / f.shape[0], "averaged over the batch"),
    (lambda f, p: f.sub_(p), "changed its input"),
    (lambda f, p: 1 / 0, "ZeroDivisionError"),
]


@pytest.mark.parametrize(("fn", "expected"), CONTENT_CASES)
def test_content_loss_check_gives_the_right_hint(fn, expected, capsys):
    passed, out = _run(nst.check_content_loss, fn, capsys)
    assert expected in out
    assert passed == expected.startswith("✓")


# ---------------------------------------------------------------- Gram matrix (lesson 02)


def _ours_gram(f):
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


GRAM_CASES = [
    (_ours_gram, "✓ gram_matrix"),
    (nst.gram_matrix, "✓ gram_matrix"),
    (_unwritten, "not written yet"),
    (lambda f: nst.gram_matrix(f, normalize=False), "forgot to divide by M = H*W"),
    (lambda f: nst.gram_matrix(f) / f.shape[1], "divided by C*H*W"),
    (lambda f: f.flatten(2).transpose(1, 2) @ f.flatten(2), "F^T F"),
    (lambda f: nst.gram_matrix(f)[0], "keep the batch dimension"),
    (lambda f: f.flatten(2) * 2, "features' shape"),
    (lambda f: f.flatten(2) @ f.flatten(2).transpose(1, 2) / f.shape[2], "divided by H"),
    (lambda f: nst.gram_matrix(f) + torch.triu(torch.ones_like(nst.gram_matrix(f)), 1), "not symmetric"),
    (lambda f: f.flatten(2) @ f.transpose(2, 3).flatten(2).transpose(1, 2) / f[0, 0].numel(), "wrong axes"),
    (lambda f: nst.gram_matrix(f[:1]).expand(f.shape[0], -1, -1), "one Gram per image"),
    (lambda f: nst.gram_matrix(f).sum(0, keepdim=True).expand(f.shape[0], -1, -1), "holds the whole batch's"),
    (lambda f: nst.gram_matrix(f).detach(), "no gradient flows"),
    (lambda f: nst.gram_matrix(f.detach()), "no gradient flows"),
]


@pytest.mark.parametrize(("fn", "expected"), GRAM_CASES)
def test_gram_matrix_check_gives_the_right_hint(fn, expected, capsys):
    passed, out = _run(nst.check_gram_matrix, fn, capsys)
    assert expected in out
    assert passed == expected.startswith("✓")


# ---------------------------------------------------------------- layer style loss E_l (lesson 02)


def _n(f):
    return f.shape[1]


def _m(f):
    return f.shape[2] * f.shape[3]


def _ours_style(f, a):
    return (_ours_gram(f) - a).pow(2).sum() / (4 * _n(f) ** 2)


STYLE_CASES = [
    (_ours_style, "✓ layer_style_loss"),
    (_unwritten, "not written yet"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).sum() / (4 * _n(f) ** 2 * _m(f) ** 2), "already divided by M"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).sum() / _n(f) ** 2, "forgot the 1/4"),
    (lambda f, a: _ours_style(f, a) / _m(f), "times too small: you divided by M once more"),
    (lambda f, a: _ours_style(f, a) * _m(f), "times too large: no factor M belongs in it"),
    (lambda f, a: _ours_style(f, a) * f.shape[0], "the batch was counted twice"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).sum() / (4 * _n(f)), "not 4 N^2"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).mean(), "took the mean"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).mean() / 4, "took the mean and divided by 4"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).sum() / (4 * _m(f) ** 2), "instead of 4 N^2"),
    (lambda f, a: (nst.gram_matrix(f, normalize=False) - a).pow(2).sum() / (4 * _n(f) ** 2), "not divided by M"),
    (lambda f, a: (_ours_gram(f) - a).pow(2) / (4 * _n(f) ** 2), "ONE number"),
    (lambda f, a: (_ours_gram(f) - a).pow(2).sum().item() / (4 * _n(f) ** 2), "returned a float"),
    (lambda f, a: (_ours_gram(f.detach()) - a).pow(2).sum() / (4 * _n(f) ** 2), "no gradient flows"),
]


@pytest.mark.parametrize(("fn", "expected"), STYLE_CASES)
def test_style_loss_check_gives_the_right_hint(fn, expected, capsys):
    passed, out = _run(nst.check_style_loss, fn, capsys)
    assert expected in out
    assert passed == expected.startswith("✓")


def test_the_style_loss_check_follows_the_package(capsys, monkeypatch):
    """The check's reference IS the package's E_l: a wrong package makes a right answer fail."""
    monkeypatch.setattr(checks.style, "_layer_style_loss", lambda f, a, normalization: 2 * nst.layer_style_loss(f, a))
    assert not nst.check_style_loss(_ours_style)
    capsys.readouterr()


# ---------------------------------------------------------------- the objective (lesson 03)


def _ours_objective(content_targets, style_targets, alpha, beta, *, style_share=True, swap=False, as_float=False):
    def objective(features, image):
        content = sum(_ours_content(features[k], t) for k, t in content_targets.items())
        style = sum(_ours_style(features[k], a) for k, a in style_targets.items())
        if style_share:
            style = style / len(style_targets)
        a, b = (beta, alpha) if swap else (alpha, beta)
        terms = {"content": a * content, "style": b * style}
        return {k: float(v) for k, v in terms.items()} if as_float else terms

    objective.layers = [*content_targets, *style_targets]
    return objective


def _without_layers(*args):
    objective = _ours_objective(*args)
    del objective.layers
    return objective


def _too_few_layers(*args):
    objective = _ours_objective(*args)
    objective.layers = objective.layers[:1]
    return objective


def _one_tensor(*args):
    objective = _ours_objective(*args)

    def total(features, image):
        return sum(objective(features, image).values())

    total.layers = objective.layers
    return total


OBJECTIVE_CASES = [
    (_ours_objective, "✓ make_objective"),
    (checks.reference_objective, "✓ make_objective"),
    (_unwritten, "not written yet"),
    (lambda *args: _ours_objective(*args, style_share=False), "w_l = 1/2"),
    (lambda *args: _ours_objective(*args, swap=True), "swapped"),
    (lambda *args: _ours_objective(*args, as_float=True), "no .item() or float()"),
    (_without_layers, "no `layers` attribute"),
    (_too_few_layers, "`layers` misses relu"),
    (_one_tensor, "dict of named terms"),
]


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")  # the float() wrong answer
@pytest.mark.parametrize(("fn", "expected"), OBJECTIVE_CASES)
def test_objective_check_gives_the_right_hint(fn, expected, capsys):
    passed, out = _run(nst.check_objective, fn, capsys)
    assert expected in out
    assert passed == expected.startswith("✓")


# ---------------------------------------------------------------- the loop (lesson 03)


def _ours_loop(
    net,
    objective,
    init,
    steps,
    *,
    zero_grad=True,
    scale_it=True,
    measure="fold",
    return_total=False,
    backward_total=False,
    backward=True,
    give_back="loss",
    lr=1.0,
    detach=False,
    search="strong_wolfe",
    trials=21,
    aim=True,
    reset=True,
):
    """The lesson's loop: its skeleton, and a closure written right or with one mistake."""
    free = init.detach().clone().clamp(0, 1).requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [free],
        lr=lr,
        max_iter=1,
        max_eval=trials,
        line_search_fn=search,
        history_size=50,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    scale = 1.0

    def closure():
        if zero_grad:
            optimizer.zero_grad()
        image = {"fold": nst.fold, "clamp": lambda x: x.clamp(0, 1)}.get(measure, lambda x: x)(free)
        total = sum(objective(net(image, objective.layers), image).values())
        if detach:
            total = total.detach()
        loss = total / scale if scale_it else total
        if backward:
            (total if backward_total else loss).backward()
        if give_back == "none":
            return None
        if give_back == "float":
            return loss.item()
        return total if return_total else loss

    scale = closure().item()  # the start's total
    if aim:  # L-BFGS has no curvature yet: aim its first step
        optimizer.param_groups[0]["lr"] = nst.first_step_lr(1.0, free.grad / scale, lr)
    losses = []
    for _ in range(steps):
        losses.append(optimizer.step(closure).item() * scale)
        if reset:
            optimizer.param_groups[0]["lr"] = lr
        if measure == "clamp after":  # the common tutorial loop: clamp the image itself
            with torch.no_grad():
                free.clamp_(0, 1)
    return (nst.fold(free) if measure == "fold" else free).detach(), losses


def _divided_losses(*args):
    """Our loop, but it records the losses divided by the first, as L-BFGS sees them."""
    image, losses = _ours_loop(*args)
    return image, [value / losses[0] for value in losses]


LOOP_CASES = [
    (_ours_loop, "✓ loop"),
    (checks.reference_loop, "✓ loop"),
    (_unwritten, "not written yet"),
    (lambda *args: _ours_loop(*args, zero_grad=False), "forgot optimizer.zero_grad()"),
    (lambda *args: _ours_loop(*args, scale_it=False), "did not divide the loss by its first value"),
    (lambda *args: _ours_loop(*args, measure="free"), "you measured `free` itself"),
    (lambda *args: _ours_loop(*args, measure="clamp after"), "clamp it"),
    (lambda *args: _ours_loop(*args, measure="clamp"), "you measure free.clamp(0, 1)"),
    (_divided_losses, "divided ones"),
    (lambda *args: _ours_loop(*args, return_total=True), "returns the total"),
    (lambda *args: _ours_loop(*args, backward_total=True), "backward() on the total but returns the divided"),
    (lambda *args: _ours_loop(*args, backward=False), "never called backward()"),
    (lambda *args: _ours_loop(*args, give_back="none"), "your closure returned None"),
    (lambda *args: _ours_loop(*args, give_back="float"), "your closure returned a float"),
    (lambda *args: _ours_loop(*args, lr=0.5), "lr=1.0"),
    (lambda *args: _ours_loop(*args, search=None), "line_search_fn='strong_wolfe'"),
    (lambda *args: _ours_loop(*args, trials=None), "max_eval=21"),
    (lambda *args: _ours_loop(*args, aim=False), "torch's own tiny first try"),
    (lambda *args: _ours_loop(*args, reset=False), "set lr back to 1.0"),
    (lambda *args: _ours_loop(*args, detach=True), "no gradient path"),
    (lambda *args: (_ours_loop(*args)[0], _ours_loop(*args)[1][:-1]), "losses for"),
    (lambda *args: _ours_loop(*args)[0], "return two things"),
]


@pytest.mark.parametrize(("fn", "expected"), LOOP_CASES)
def test_loop_check_gives_the_right_hint(fn, expected, capsys):
    passed, out = _run(nst.check_loop, fn, capsys)
    assert expected in out
    assert passed == expected.startswith("✓")


def test_the_loop_check_follows_the_package(capsys, monkeypatch):
    """A package loop that records other losses makes a right loop fail its check."""
    real = checks.loop.optimize

    def broken(net, objective, init, **kwargs):
        result = real(net, objective, init, **kwargs)
        return result.__class__(**{**result.__dict__, "history": {"total": [2 * v for v in result.history["total"]]}})

    monkeypatch.setattr(checks.loop, "optimize", broken)
    assert not nst.check_loop(_ours_loop)
    capsys.readouterr()


# ---------------------------------------------------------------- the learner's function, or the package's


def test_use_or_reference_says_once_and_falls_back(capsys):
    def content_loss(features, target):
        raise NotImplementedError

    mine = checks.use_or_reference(content_loss)
    f, p = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    assert float(mine(f, p)) == 2.0 and float(mine(f, p)) == 2.0
    assert capsys.readouterr().out.count("not written yet") == 1
    assert mine.is_reference()


def test_use_or_reference_keeps_a_written_function_even_when_wrong(capsys):
    def gram_matrix(features):
        return torch.zeros(1)

    mine = checks.use_or_reference(gram_matrix)
    assert torch.equal(mine(torch.ones(1, 1, 2, 2)), torch.zeros(1)) and not mine.is_reference()
    assert capsys.readouterr().out == ""
    with pytest.raises(KeyError, match="no reference"):
        checks.use_or_reference(lambda: None, "colour")


# ---------------------------------------------------------------- every kind of answer, every check


def _raise(*args):
    raise ValueError("oops")


def _loss_answers(right, arity):
    """One answer of each kind for a check of ``right`` (a function of ``arity`` tensors)."""
    too_many = {1: lambda a, b: right(a), 2: lambda a, b, c: right(a, b)}[arity]
    return {
        "float": (lambda *a: float(right(*a).sum()), "returned a float"),
        "item": (lambda *a: right(*a).sum().item(), "returned a float"),
        "list": (lambda *a: [right(*a)], "returned a list"),
        "numpy": (lambda *a: right(*a).detach().numpy(), ".numpy() leaves torch"),
        "none": (lambda *a: None, "returned None"),
        "str": (lambda *a: str(right(*a)), "returned a str"),
        "shape": (lambda *a: right(*a).reshape(-1)[:1].expand(3), "the result has shape (3,)"),
        "dtype": (lambda *a: right(*a).long(), "dtype torch.int64"),
        "raises": (_raise, "your function raised ValueError: oops"),
        "arity": (too_many, "but the check calls it with"),
        "not callable": (0.5, "is a float, not a function"),
    }


def _gram_answers():
    answers = _loss_answers(_ours_gram, 1)
    answers["shape"] = (lambda f: _ours_gram(f)[:, :1], "it should be (B, C, C)")
    return answers


def _cov(f):
    return nst.gram_matrix(f - f.mean(dim=(2, 3), keepdim=True))


def _ours_mean_covariance(f, t):
    return (f.mean(dim=(2, 3)) - t.mean(dim=(2, 3))).pow(2).sum() + (_cov(f) - _cov(t)).pow(2).sum()


def _ours_tv(x):
    return (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean() + (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()


def _objective_answers():
    """make_objective answers whose objective returns each kind (raising, arity: the objective's)."""

    def making(terms, arity=2):
        def make_objective(content_targets, style_targets, alpha, beta):
            right = _ours_objective(content_targets, style_targets, alpha, beta)

            def objective(features, image):
                return terms(right(features, image))

            made = objective if arity == 2 else lambda features: terms(right(features, None))
            made.layers = right.layers
            return made

        return make_objective

    return {
        "float": (making(lambda t: float(sum(t.values()))), "your objective returned float"),
        "item": (making(lambda t: {k: v.item() for k, v in t.items()}), "no .item() or float()"),
        "list": (making(lambda t: list(t.values())), "your objective returned list"),
        "numpy": (making(lambda t: sum(t.values()).detach().numpy()), "your objective returned ndarray"),
        "none": (making(lambda t: None), "your objective returned None: did you forget the `return`?"),
        "str": (making(lambda t: str(t)), "your objective returned str"),
        "shape": (making(lambda t: {k: v.expand(2) for k, v in t.items()}), "not a one-number torch tensor"),
        "dtype": (making(lambda t: {k: v.long() for k, v in t.items()}), "dtype torch.int64"),
        "raises": (making(lambda t: _raise()), "your objective raised ValueError: oops"),
        "arity": (making(lambda t: t, arity=1), "your objective takes (features), but the check calls it with"),
        "not callable": (0.5, "is a float, not a function"),
    }


def _loop_answers():
    return {
        "float": (lambda *a: 1.0, "return two things"),
        "item": (lambda *a: _ours_loop(*a, give_back="float"), "your closure returned a float"),
        "list": (lambda *a: [_ours_loop(*a)[1]], "return two things"),
        "numpy": (lambda *a: (_ours_loop(*a)[0].numpy(), _ours_loop(*a)[1]), ".numpy() leaves torch"),
        "none": (lambda *a: _ours_loop(*a, give_back="none"), "your closure returned None"),
        "str": (lambda *a: ("image", "losses"), "the image your loop returns is a str"),
        "shape": (lambda *a: (_ours_loop(*a)[0][..., :3], _ours_loop(*a)[1]), "the start's shape"),
        "dtype": (lambda *a: (_ours_loop(*a)[0].long(), _ours_loop(*a)[1]), "dtype torch.int64"),
        "raises": (_raise, "your function raised ValueError: oops"),
        "arity": (lambda net, objective, init: None, "but the check calls it with 4 arguments"),
        "not callable": ("loop", "is a str, not a function"),
    }


KIND_CASES = {
    "content_loss": (nst.check_content_loss, _loss_answers(_ours_content, 2)),
    "gram_matrix": (nst.check_gram_matrix, _gram_answers()),
    "layer_style_loss": (nst.check_style_loss, _loss_answers(_ours_style, 2)),
    "make_objective": (nst.check_objective, _objective_answers()),
    "loop": (nst.check_loop, _loop_answers()),
    "mean_covariance_loss": (nst.check_mean_covariance_loss, _loss_answers(_ours_mean_covariance, 2)),
    "tv_loss": (nst.check_tv_loss, _loss_answers(_ours_tv, 1)),
}
KINDS = ["float", "item", "list", "numpy", "none", "str", "shape", "dtype", "raises", "arity", "not callable"]


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(KIND_CASES))
def test_every_check_answers_every_kind_of_answer_in_one_line(name, kind, capsys):
    check, answers = KIND_CASES[name]
    answer, expected = answers[kind]
    passed, out = _run(check, answer, capsys)
    assert not passed
    assert out.startswith(f"✗ {name}: ") and expected in out, out


def test_every_check_has_an_answer_of_every_kind():
    assert all(sorted(answers) == sorted(KINDS) for _, answers in KIND_CASES.values())


def test_an_error_no_rule_foresaw_is_still_one_line(capsys):
    """The harness's last resort: whatever goes wrong inside a check becomes a ✗ line."""

    @checks.harness.check("toy", passed="fine")
    def check_toy(fn):
        fn()[0]  # a check that forgot a case: indexes whatever came back

    passed, out = _run(check_toy, lambda: 3, capsys)
    assert not passed and out.startswith("✗ toy: the check could not use your answer (TypeError:"), out
    assert _run(check_toy, lambda: [1], capsys) == (True, "✓ toy: fine\n")


def test_the_check_modules_docstring_examples_run():
    import doctest
    import importlib

    for module in ("harness", "content", "style", "objective", "loop", "beyond"):
        found = importlib.import_module(f"nst_course.course.checks.{module}")
        failed, attempted = doctest.testmod(found, optionflags=doctest.ELLIPSIS)
        assert failed == 0 and attempted > 0, module


# ---------------------------------------------------------------- lesson 03's loop cell, as the lesson runs it


def _lesson_loop(*, solutions, change=("", "")):
    """``loop`` from lesson 03's source, learner's or solution version, with one piece of it changed."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    build = load_tool("build_notebooks")
    cells = build.parse((root / "lessons" / "03-full-transfer.py").read_text(encoding="utf-8"))
    (cell,) = [c for c in cells if c.kind == "code" and any(line.startswith("def loop(") for line in c.lines)]
    code = "\n".join(build.variant(cell.lines, solutions=solutions))
    assert change[0] in code
    namespace = {"torch": torch, "nst": nst}
    exec(code.replace(*change), namespace)
    return namespace["loop"]


MEASURED = "total = sum(objective(net(image, objective.layers), image).values())"


@pytest.mark.parametrize(
    ("solutions", "change", "expected"),
    [
        (True, ("", ""), "✓ loop"),
        (False, ("", ""), "not written yet"),
        (True, ("loss = total / scale", "loss = total"), "divide the loss by its first value"),
        (True, ("return loss", "return total"), "returns the total"),
        (True, ("        loss.backward()\n", ""), "never called backward()"),
        (True, ("net(image, objective.layers), image)", "net(free, objective.layers), free)"), "measured `free`"),
        (True, (MEASURED, MEASURED + ".detach()"), "no gradient path"),
        (True, ("return loss", "return loss.item()"), "your closure returned a float"),
    ],
)
def test_lesson_03s_loop_cell_is_checked_as_written(solutions, change, expected, capsys):
    """The lesson's skeleton with its solution passes; its TODO, and a closure with one mistake, get their hints."""
    passed, out = _run(nst.check_loop, _lesson_loop(solutions=solutions, change=change), capsys)
    assert expected in out, out
    assert passed == expected.startswith("✓")
