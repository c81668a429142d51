"""The lessons: stored notebooks match their sources, and the exercise checks give the right hints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from support import load_tool

import nst_course as nst

ROOT = Path(__file__).resolve().parent.parent


build = load_tool("build_notebooks")
SOURCES = build.lesson_sources()


def _cells(path: Path) -> list[tuple[str, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(cell["cell_type"], "".join(cell["source"])) for cell in nb["cells"]]


def test_the_lessons_are_there():
    assert [s.stem[:2] for s in SOURCES] == ["00", "01", "02", "03", "04", "05", "06"]  # drafts live in lessons/drafts/


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_stored_notebooks_match_the_lesson_sources(source):
    cells = build.parse(source.read_text(encoding="utf-8"))
    for target, solutions in zip(build.targets(source), (False, True), strict=True):
        assert target.exists(), f"{target} is missing: run python tools/build_notebooks.py"
        nb = build.make_notebook(cells, solutions=solutions, colab=build.colab_for(target))
        expected = [(c.cell_type, c.source) for c in nb.cells]
        assert _cells(target) == expected, f"{target.name} is out of date: run python tools/build_notebooks.py"


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_stored_notebooks_keep_only_checked_text(source):
    for target in build.targets(source):
        nb = json.loads(target.read_text(encoding="utf-8"))
        assert set(nb["metadata"]) == {"kernelspec", "language_info"}
        checked = 0
        for cell in nb["cells"]:
            assert cell["metadata"] == {}
            if cell["cell_type"] != "code":
                continue
            if "".join(cell["source"]).startswith("# NBVAL_CHECK_OUTPUT"):
                checked += 1
                assert cell["outputs"], f"{target.name}: a checked cell has no stored output"
                assert all(o["output_type"] in ("stream", "execute_result") for o in cell["outputs"])
            else:
                assert cell["outputs"] == [] and cell["execution_count"] is None
        assert checked >= 2


def test_learner_version_has_todos_and_no_solutions():
    lines = ["def f(x):", "    # BEGIN SOLUTION: double it", "    return 2 * x", "    # END SOLUTION", "", "y = 1"]
    assert build.variant(lines, solutions=True) == ["def f(x):", "    return 2 * x", "", "y = 1"]
    assert build.variant(lines, solutions=False) == [
        "def f(x):",
        "    # TODO: double it",
        '    raise NotImplementedError("double it")',
        "",
        "y = 1",
    ]


def test_parser_splits_cells_and_strips_markdown_comments():
    text = (
        "# header, dropped\n# %% [markdown]\n# # Title\n#\n# text\n\n"
        "# %%\nx = 1\n\n\n# %%\n# NBVAL_CHECK_OUTPUT\nprint(x)\n"
    )
    cells = build.parse(text)
    assert [(c.kind, c.lines) for c in cells] == [
        ("markdown", ["# Title", "", "text"]),
        ("code", ["x = 1"]),
        ("code", ["# NBVAL_CHECK_OUTPUT", "print(x)"]),
    ]


def test_lesson_settings_follow_quick_mode(monkeypatch):
    monkeypatch.setenv("NST_COURSE_QUICK", "0")
    assert not nst.quick_mode()
    full = nst.lesson_settings(1)
    assert (full.size, full.steps) == (128, 100)
    assert nst.lesson_settings("03-full-transfer", steps=7).steps == 7
    monkeypatch.setenv("NST_COURSE_QUICK", "1")
    assert nst.quick_mode()
    quick = nst.lesson_settings(1, steps=500)
    assert quick.size <= 48 and quick.steps <= 10
    with pytest.raises(nst.NSTError, match="no lesson"):
        nst.lesson_settings(9)
    monkeypatch.setenv("NST_COURSE_QUICK", "0")
    monkeypatch.setenv("NST_COURSE_PAPER_SIZE", "1")
    assert nst.lesson_settings(3).size == 512 and nst.lesson_settings(0).size == 224
    assert (nst.lesson_settings(4).size, nst.lesson_settings(5).size) == (64, 128)  # many runs: own sizes
    assert nst.lesson_settings(3, size=200).size == 200


def test_estimate_is_positive_and_scales_with_steps(net):
    image = torch.rand(1, 3, 32, 32)
    one = nst.estimate_seconds(net, image, layers=["conv1_1"], steps=1)
    assert 0 < one < 10
    assert nst.estimate_seconds(net, image, layers=["conv1_1"], steps=1000, runs=2) > one


def test_paintings_name_their_stand_in_offline(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_COURSE_CACHE", str(tmp_path))
    for name in ("starry_night", "portrait_of_picasso"):
        image, caption = nst.load_painting(name, size=32)
        assert image.shape[-1] == 32 or image.shape[-2] == 32
        assert "stand-in" in caption
    assert nst.load_painting("town", size=32)[1] == "'town' (built-in)"


@pytest.mark.parametrize("notebook", sorted(ROOT.glob("notebooks/**/[0-9][0-9]-*.ipynb")), ids=lambda p: p.stem)
def test_every_link_in_a_stored_notebook_leads_to_a_file(notebook):
    text = "\n".join(source for kind, source in _cells(notebook) if kind == "markdown")
    links = [link for link in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:|#", link)]
    dead = [link for link in links if not (notebook.parent / link.split("#")[0]).exists()]
    assert not dead, f"{notebook.relative_to(ROOT)} links files that are not there: {dead}"
