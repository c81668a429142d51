"""The course outside its checkout: the wheel, `nst-course lessons/lab/pack`, the install check, Binder.

The slow tests build the wheel and install it, or a pack, into a fresh virtual
environment outside the checkout, with pip kept off the network (``--no-index``).
So that torch (gigabytes) is never installed again, the fresh environment sees the
packages of the environment running the tests (all but nst-course itself) through
a site folder of links; nst-course comes only from the wheel.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from support import load_tool

from nst_course.cli import main
from nst_course.course import classroom
from nst_course.course import pack as offline
from nst_course.course import wheels as course_wheels
from nst_course.errors import NSTError

ROOT = Path(__file__).resolve().parent.parent


build = load_tool("build_notebooks")


# --------------------------------------------------------------------------- the install check cell


def test_every_notebook_starts_its_code_with_the_install_check():
    for source in build.lesson_sources():
        cells = build.parse(source.read_text(encoding="utf-8"))
        for solutions in (False, True):
            nb = build.make_notebook(cells, solutions=solutions)
            code = [cell for cell in nb.cells if cell.cell_type == "code"]
            assert code[0].source == build.INSTALL_CHECK, source.name
            assert nb.cells[0].cell_type == "markdown"  # the lesson's title still comes first


def test_the_install_check_says_in_one_line_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nst_course", None)  # as if it were not installed
    with pytest.raises(Exception) as caught:
        exec(build.INSTALL_CHECK, {})
    shown = caught.value._render_traceback_()  # what IPython prints instead of a traceback
    assert shown == [build.INSTALL_HINT]
    assert "\n" not in shown[0] and "pip install" in shown[0]


def test_the_install_check_is_silent_when_the_package_is_there(capsys):
    exec(build.INSTALL_CHECK, {})
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- nst-course lessons / lab


@pytest.fixture
def fake_lessons(tmp_path, monkeypatch):
    """A lesson folder of two notebooks and one solution, standing in for the installed one."""
    folder = tmp_path / "shipped"
    (folder / "solutions").mkdir(parents=True)
    for name in ("00-a.ipynb", "01-b.ipynb", "solutions/00-a.ipynb"):
        (folder / name).write_text(f'{{"course": "{name} v1"}}\n')
    monkeypatch.setattr(classroom, "lesson_folder", lambda: folder)
    return folder


def test_the_checkout_provides_the_lessons():
    assert classroom.lesson_folder() == ROOT / "notebooks"
    names = [p.as_posix() for p in classroom.lesson_files(solutions=True)]
    last = sorted(p.stem for p in (ROOT / "lessons").glob("*.py"))[-1]
    assert len(names) == 2 * len(list((ROOT / "lessons").glob("*.py")))
    assert names[0].startswith("00-") and names[-1] == f"solutions/{last}.ipynb"


def test_copy_lessons_copies_then_keeps_the_learners_changes(fake_lessons, tmp_path):
    work = tmp_path / "work"
    report = classroom.copy_lessons(work)
    assert report.copied == ["00-a.ipynb", "01-b.ipynb"] and not (work / "solutions").exists()
    (work / "01-b.ipynb").write_text("my answers")
    report = classroom.copy_lessons(work, solutions=True)
    assert report.unchanged == ["00-a.ipynb"]
    assert report.kept == ["01-b.ipynb"] and report.copied == ["solutions/00-a.ipynb"]
    assert (work / "01-b.ipynb").read_text() == "my answers"
    assert any("skipped 01-b.ipynb" in line for line in report.lines())


def test_copy_lessons_updates_only_what_the_learner_left_alone(fake_lessons, tmp_path):
    work = tmp_path / "work"
    classroom.copy_lessons(work)
    (work / "00-a.ipynb").write_text("edited")
    for name in ("00-a.ipynb", "01-b.ipynb"):  # a new version of the course
        (fake_lessons / name).write_text(f'{{"course": "{name} v2"}}\n')
    report = classroom.copy_lessons(work)
    assert report.updated == ["01-b.ipynb"] and report.kept == ["00-a.ipynb"]
    assert "v2" in (work / "01-b.ipynb").read_text() and (work / "00-a.ipynb").read_text() == "edited"


def test_copy_lessons_refuses_a_file_as_folder(fake_lessons, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NSTError, match="is a file"):
        classroom.copy_lessons(tmp_path / "file")


def test_cli_lessons_and_lab(fake_lessons, tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["lessons", str(work), "--solutions"]) == 0
    assert "copied 3 notebook(s)" in capsys.readouterr().out
    (work / "00-a.ipynb").write_text("mine")
    assert main(["lab", str(work), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "skipped 00-a.ipynb" in out
    assert f"-m jupyterlab --ServerApp.root_dir={work.resolve()}" in out


LIGHT_START = """\
import re, sys
{start}
assert code == 0, code
heavy = ("torch", "torchvision", "numpy", "matplotlib")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print("LOADED", ",".join(loaded) or "-")
# this process's own peak (ru_maxrss would also count the parent's peak before exec)
print("PEAK_KB", re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""
#: how ``nst-course`` (its console script) and ``python -m nst_course`` start
CONSOLE_SCRIPT = "from nst_course.cli import main\nsys.argv = ['nst-course', *sys.argv[1:]]\ncode = main()"
MINUS_M = """\
import runpy
sys.argv = ['nst_course', *sys.argv[1:]]
try:
    runpy.run_module('nst_course', run_name='__main__', alter_sys=True)
except SystemExit as exc:
    code = exc.code
"""


def test_the_console_script_is_the_light_entry():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"nst-course": "nst_course.cli:main"}


@pytest.mark.parametrize("start", [CONSOLE_SCRIPT, MINUS_M], ids=["nst-course", "python -m nst_course"])
def test_copying_the_lessons_never_loads_torch(start, tmp_path):
    """A hub runs `nst-course lessons` in every learner's start hook: it must stay small."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_START.format(start=start), "lessons", str(tmp_path / "work"), "--solutions"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"copied {2 * len(list((ROOT / 'lessons').glob('*.py')))} notebook(s)" in done.stdout
    assert "LOADED -" in done.stdout, done.stdout  # no torch, torchvision, numpy or matplotlib
    peak_mb = int(done.stdout.split("PEAK_KB ")[1].split()[0]) / 1024  # Linux: the process's VmHWM
    assert peak_mb < 100, f"copying the lessons peaked at {peak_mb:.0f} MB"


def test_the_classroom_commands_modules_import_no_torch():
    """lessons, lab and pack: their parsers and modules take the standard library only."""
    code = (
        "import sys\n"
        "from nst_course.cli import build_parser\n"
        "build_parser(['lessons', 'lab', 'pack'])\n"
        "import nst_course.cli.lab, nst_course.cli.lessons, nst_course.cli.pack\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'numpy', 'matplotlib', 'PIL') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_light_entry_keeps_one_line_errors(tmp_path, capsys):
    from nst_course.cli import main as entry_main

    (tmp_path / "file").write_text("x")
    assert entry_main(["lessons", str(tmp_path / "file")]) == 2
    assert (
        capsys.readouterr().err == f"nst-course: error: {tmp_path / 'file'} is a file; give a folder for the lessons\n"
    )
    with pytest.raises(SystemExit) as stopped:
        entry_main(["lessons"])
    assert stopped.value.code == 2 and "see --help" in capsys.readouterr().err


# --------------------------------------------------------------------------- wheels and the pack


def _fake_wheel(folder: Path, requires: list[str]) -> Path:
    wheel = folder / "nst_course-0.0.1-py3-none-any.whl"
    metadata = "Metadata-Version: 2.4\nName: nst-course\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nst_course-0.0.1.dist-info/METADATA", metadata + "\nRequires-Dist: not-a-header\n")
    return wheel


def test_wheel_requirements_leave_out_the_extras(tmp_path):
    requires = ["torch>=2.1", "numpy>=1.24", 'pytest>=8; extra == "test"', 'jupyterlab>=4.0; extra == "lab"']
    requires.append('tomli>=2; python_version < "3.11"')
    wheel = _fake_wheel(tmp_path, requires)
    kept = ["torch>=2.1", "numpy>=1.24", 'tomli>=2; python_version < "3.11"']
    assert course_wheels.wheel_requirements(wheel) == kept
    assert course_wheels.wheel_requirements(wheel, extras=("lab",)) == [*kept[:2], "jupyterlab>=4.0", kept[2]]


# --------------------------------------------------------------------------- packaging


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_once():
    project = _pyproject()
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "nst_course._version.__version__"}
    # a plain literal, so that setuptools reads it without importing the package
    tree = ast.parse((ROOT / "nst_course" / "_version.py").read_text(encoding="utf-8"))
    (literal,) = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets] == ["__version__"]
        and isinstance(node.value, ast.Constant)
    ]
    from setuptools.config.expand import read_attr

    import nst_course

    assert read_attr("nst_course._version.__version__", root_dir=ROOT) == literal == nst_course.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", literal)


def test_jupyterlab_is_an_extra_that_the_script_installs():
    project = _pyproject()["project"]
    assert not any(_name(r) == "jupyterlab" for r in project["dependencies"])  # hosted notebooks bring their own
    assert [_name(r) for r in project["optional-dependencies"]["lab"]] == ["jupyterlab"]
    script = (ROOT / "course.sh").read_text(encoding="utf-8")
    assert re.findall(r'^\s+setup "(.*?)"', script, re.MULTILINE) == ["[lab]", "[lab]", "[test,lab]"]
    assert '"nst-course[lab]"' in offline.install_command()  # a pack installs JupyterLab too
    assert "Framework :: Jupyter :: JupyterLab :: 4" not in project["classifiers"]  # not a lab extension


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def test_lab_without_jupyterlab_says_how_to_install_it(fake_lessons, tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        classroom.importlib.util, "find_spec", lambda name: None if name == "jupyterlab" else real(name)
    )
    monkeypatch.setattr(classroom.subprocess, "call", lambda command: pytest.fail(f"started {command}"))
    assert main(["lab", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "JupyterLab is not installed" in err and "nst-course[lab]" in err


@pytest.fixture
def teacher_cache(tmp_path, monkeypatch):
    """A download cache holding one painting (a small real JPEG), as after a lesson online."""
    from PIL import Image

    cache = tmp_path / "teacher-cache"
    (cache / "images").mkdir(parents=True)
    Image.new("RGB", (40, 30), (20, 40, 160)).save(cache / "images" / "starry_night.jpg")
    monkeypatch.setenv("NST_COURSE_CACHE", str(cache))
    return cache


def test_pack_writes_the_room_folder(tmp_path, fake_lessons, teacher_cache, monkeypatch):
    monkeypatch.setattr(offline.subprocess, "run", lambda *a, **k: pytest.fail("--no-deps runs no pip"))
    wheel = _fake_wheel(tmp_path, ["torch>=2.1", "numpy>=1.24"])
    options = offline.PackOptions(course_wheel=wheel, dependencies=False, weights="random", paintings="cached")
    lines = offline.pack(tmp_path / "pack", options, say=lambda line: pytest.fail(f"said {line}"))
    pack = tmp_path / "pack"
    assert sorted(p.name for p in (pack / "wheels").iterdir()) == [wheel.name]
    assert (pack / "cache" / "images" / "starry_night.jpg").is_file()
    assert sorted(p.name for p in (pack / "lessons").rglob("*.ipynb")) == ["00-a.ipynb", "00-a.ipynb", "01-b.ipynb"]
    readme = (pack / "README.md").read_text()
    assert offline.install_command() in readme
    assert "weights: NOT packed" in readme and "NST_COURSE_WEIGHTS=" not in readme
    assert "paintings missing" in readme and "the_scream" in readme
    assert "every dependency of nst-course already installed" in readme
    assert any("NOT packed" in line for line in lines)


def test_pip_gets_both_linux_tags_and_the_python(tmp_path):
    options = offline.PackOptions(platforms=["manylinux2014_x86_64", "win_amd64"], python="3.11")
    command = offline.pip_download_command(tmp_path, ["numpy>=1.24", "torch>=2.1"], options)
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert command[4:] == [
        *("--dest", str(tmp_path), "--only-binary=:all:"),
        *("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--platform", "win_amd64"),
        *("--python-version", "3.11", "--implementation", "cp"),
        *("numpy>=1.24", "torch>=2.1"),
    ]
    resolve = offline.pip_resolve_command(tmp_path / "report.json", ["numpy>=1.24"], options)
    assert resolve[3:6] == ["install", "--dry-run", "--ignore-installed"]
    assert resolve[resolve.index("--report") + 1] == str(tmp_path / "report.json")
    assert command[command.index("--platform") :] == resolve[resolve.index("--platform") :][:-1] + command[-2:]
    assert course_wheels.linux_platforms(["linux_aarch64"]) == [
        "linux_aarch64",
        "manylinux_2_28_aarch64",
        "manylinux2014_aarch64",
    ]
    assert "--platform" not in offline.pip_download_command(tmp_path, ["numpy"], offline.PackOptions())


def test_the_command_line_takes_several_platforms(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(offline, "pack", lambda folder, options: seen.setdefault("options", options) and [])
    assert main(["pack", str(tmp_path / "p"), "--platform", "macosx_11_0_arm64", "--platform", "win_amd64"]) == 0
    assert list(seen["options"].platforms) == ["macosx_11_0_arm64", "win_amd64"]


def _wheel_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"a wheel")
    return path


TORCH_CPU = "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"
VISION_CPU = "torchvision-0.20.1+cpu-cp311-cp311-linux_x86_64.whl"


@pytest.mark.parametrize(
    ("names", "refusal"),
    [
        ([TORCH_CPU], "add the torchvision wheel of the same release"),
        ([VISION_CPU], "add the torch wheel of the same release"),
        ([TORCH_CPU, "torchvision-0.20.1-cp311-cp311-manylinux_2_28_x86_64.whl"], "are not a pair"),
        ([TORCH_CPU, "torchvision-0.21.0+cpu-cp311-cp311-linux_x86_64.whl"], "are not a pair"),
        ([TORCH_CPU, "torchvision-0.20.1+cpu-cp312-cp312-linux_x86_64.whl"], "are not a pair"),
    ],
)
def test_a_torch_wheel_needs_its_own_torchvision(names, refusal, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(offline, "build_wheel", lambda *a, **k: pytest.fail("refused before any work"))
    wheels = [_wheel_file(tmp_path, name) for name in names]
    with pytest.raises(NSTError, match=refusal):
        course_wheels.check_torch_pair(wheels)
    command = ["pack", str(tmp_path / "room"), *(arg for w in wheels for arg in ("--wheel", str(w)))]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and refusal in err
    assert not (tmp_path / "room").exists()


def test_a_matching_cpu_pair_is_accepted(tmp_path):
    course_wheels.check_torch_pair([_wheel_file(tmp_path, TORCH_CPU), _wheel_file(tmp_path, VISION_CPU)])
    both = [
        "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torchvision-0.29.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    ]
    course_wheels.check_torch_pair([_wheel_file(tmp_path, name) for name in both])  # constraints.txt's pair
    course_wheels.check_torch_pair([_wheel_file(tmp_path, "six-1.17.0-py2.py3-none-any.whl")])


def test_the_download_size_is_read_from_pips_report(tmp_path):
    big = tmp_path / "torch-2.5.1-cp311-cp311-linux_x86_64.whl"
    big.write_bytes(b"x" * 3_000_000)
    small = tmp_path / "six-1.17.0-py2.py3-none-any.whl"
    small.write_bytes(b"x" * 1000)
    report = {
        "install": [
            {"download_info": {"url": big.as_uri()}},
            {"download_info": {"url": small.as_uri()}},
            {"download_info": {"url": (tmp_path / "gone-1.0-py3-none-any.whl").as_uri()}},
        ]
    }
    sizes = course_wheels.download_sizes(report)
    assert sizes == {big.name: 3_000_000, small.name: 1000, "gone-1.0-py3-none-any.whl": None}
    line = course_wheels.size_line(sizes)
    assert (
        line.startswith("the pack will download 3 wheels, 3 MB (largest: torch-2.5.1") and "1 of unknown size" in line
    )


def test_pack_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(NSTError, match="not an empty folder"):
        offline.pack(tmp_path / "used")


# --------------------------------------------------------------------------- fresh environments (slow)


def _site_of_links(folder: Path) -> Path:
    """A folder of links to this environment's packages, without nst-course."""
    folder.mkdir()
    for directory in {*site.getsitepackages(), sysconfig.get_path("purelib")}:
        for entry in Path(directory).iterdir():
            if "nst_course" in entry.name or entry.name.startswith("__editable__") or (folder / entry.name).exists():
                continue
            (folder / entry.name).symlink_to(entry)
    return folder


def _fresh_venv(folder: Path, links: Path | None = None) -> Path:
    """A new venv whose only packages are those linked in ``links`` (default: this environment's,
    minus nst-course); its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True, timeout=300)
    bin_dir = folder / "venv" / "bin"
    purelib = subprocess.run(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    links = links or _site_of_links(folder / "reused-packages")
    Path(purelib, "reused_packages.pth").write_text(f"import site; site.addsitedir({str(links)!r})\n")
    return bin_dir


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NST_COURSE", "JUPYTER", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        OMP_NUM_THREADS="1",
        MPLBACKEND="Agg",
        NST_COURSE_QUICK="1",
        NST_COURSE_WEIGHTS="random",
        # no network for anything but an explicit download: every proxied request is refused at once
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
    )
    env.update(extra)
    return env


RUN_LESSONS = """\
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

results = []
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import sys, nst_course; print('KERNEL', sys.executable, nst_course.__file__)"))
    error = None
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3").execute(cwd=None)
    except (CellExecutionError, ModuleNotFoundError) as exc:
        error = type(exc).__name__
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    results.append({
        "path": path, "error": error,
        "text": "".join(o.get("text", "") for o in outputs if o.output_type == "stream"),
        "errors": [{"ename": o.ename, "traceback": o.traceback} for o in outputs if o.output_type == "error"],
    })
print("RESULTS " + json.dumps(results))
"""


def _run_lessons(bin_dir: Path, notebooks: list[Path], env: dict[str, str], cwd: Path) -> list[dict]:
    done = subprocess.run(
        [bin_dir / "python", "-c", RUN_LESSONS, *map(str, notebooks)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=1200,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULTS ")), None)
    assert line, f"the lessons did not run: {done.stderr[-2000:]}"
    return json.loads(line.removeprefix("RESULTS "))


def _kernel_line(result: dict) -> list[str]:
    match = re.search(r"^KERNEL (\S+) (\S+)$", result["text"], re.MULTILINE)
    assert match, result["text"][:500]
    return [match.group(1), match.group(2)]


@pytest.fixture(scope="session")
def course_wheel(tmp_path_factory):
    return course_wheels.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
def test_the_wheel_installs_outside_the_checkout_and_every_lesson_runs(course_wheel, tmp_path):
    bin_dir = _fresh_venv(tmp_path)
    env = _clean_env(tmp_path)
    work = tmp_path / "my-lessons"

    # before the install: a lesson stops at its first code cell with the one-line hint
    work.mkdir()
    source = build.lesson_sources()[0]
    nb = build.make_notebook(build.parse(source.read_text(encoding="utf-8")), solutions=False)
    nb.cells = nb.cells[:1] + [cell for cell in nb.cells if cell.cell_type == "code"][:2]
    (work / "before.ipynb").write_text(build.dumps(nb))
    probe = RUN_LESSONS.replace("nb.cells.insert(0,", "(")  # no KERNEL cell: it would import nst_course
    done = subprocess.run(
        [bin_dir / "python", "-c", probe, str(work / "before.ipynb")], capture_output=True, text=True, env=env, cwd=work
    )
    (before,) = json.loads(done.stdout.split("RESULTS ", 1)[1])
    assert before["error"] == "CellExecutionError"
    assert before["errors"] == [{"ename": "CourseNotInstalled", "traceback": [build.INSTALL_HINT]}]

    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "-q", "--no-index", str(course_wheel)],
        check=True,
        env=env,
        timeout=300,
    )
    done = subprocess.run(
        [bin_dir / "nst-course", "lessons", str(work)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0 and f"copied {len(list((ROOT / 'lessons').glob('*.py')))} notebook(s)" in done.stdout, (
        done.stderr
    )
    lessons = sorted(work.glob("[0-9][0-9]-*.ipynb"))
    results = _run_lessons(bin_dir, lessons, env, cwd=work)
    venv = (tmp_path / "venv").resolve()
    for result in results:
        assert result["error"] is None, (result["path"], result["errors"])
        python, package = _kernel_line(result)
        assert Path(python).parent.parent.resolve() == venv, python  # the fresh venv's kernel...
        assert Path(package).resolve().is_relative_to(venv), package  # ...with the wheel's package
        assert str(ROOT) not in package
    assert "weights: random" in results[1]["text"]


def _trained_looking_weights(path: Path) -> Path:
    """An exported weights file that says it is trained (untrained values: nothing is downloaded)."""
    import torch

    from nst_course.engine.vgg import load_vgg19
    from nst_course.engine.weights import export_weights

    export_weights(load_vgg19(weights="random", device="cpu"), path)
    payload = torch.load(path, weights_only=True)
    payload["pretrained"], payload["source"] = True, "a test file"
    torch.save(payload, path)
    return path


PACK = [sys.executable, "-m", "nst_course", "pack"]


@pytest.mark.slow
def test_a_pack_installs_with_no_index_and_a_lesson_runs(course_wheel, tmp_path, teacher_cache):
    weights = _trained_looking_weights(tmp_path / "teacher-weights.pth")
    pack = tmp_path / "room"
    done = subprocess.run(
        [
            *PACK,
            str(pack),
            "--course-wheel",
            str(course_wheel),
            "--no-deps",
            "--weights",
            str(weights),
            "--paintings",
            "cached",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "NST_COURSE_CACHE": str(teacher_cache), "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    readme = (pack / "README.md").read_text()
    install = offline.install_command()
    assert install in readme
    assert 'export NST_COURSE_WEIGHTS="$PACK/weights/vgg19-features.pth"' in readme
    import torch

    packed = torch.load(pack / "weights" / "vgg19-features.pth", weights_only=True)  # float32: kernels share it
    assert {tensor.dtype for tensor in packed["state_dict"].values()} == {torch.float32}

    learner = tmp_path / "learner"
    learner.mkdir()
    bin_dir = _fresh_venv(learner)
    env = _clean_env(
        learner,
        PACK=str(pack),
        NST_COURSE_WEIGHTS=str(pack / "weights" / "vgg19-features.pth"),
        NST_COURSE_CACHE=str(pack / "cache"),
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    )
    subprocess.run(["bash", "-c", install], check=True, env=env, cwd=learner, timeout=300)  # README's own command
    subprocess.run(["nst-course", "lessons", "lessons"], check=True, env=env, cwd=learner, timeout=120)
    caption = subprocess.run(
        [
            "python",
            "-c",
            "from nst_course.media.paintings import load_painting; print(load_painting('starry_night')[1])",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=learner,
        check=True,
    ).stdout
    assert caption.startswith("The Starry Night, Vincent van Gogh"), caption  # from the pack's cache
    (result,) = _run_lessons(bin_dir, [learner / "lessons" / "03-full-transfer.ipynb"], env, cwd=learner)
    assert result["error"] is None, result["errors"]
    assert str(learner / "venv") in _kernel_line(result)[1]
    assert "weights: file vgg19-features.pth" in result["text"]


def _torch_links(folder: Path) -> Path:
    """A folder of links to this environment's pip, torch and torchvision with what they need, but
    no package the course itself asks for (numpy, pillow...): those must come from the pack."""
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    course = {_name(r) for r in _pyproject()["project"]["dependencies"]} - {"torch", "torchvision"}
    todo, seen = [("pip", ()), ("torch", ()), ("torchvision", ())], set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name in course:
            continue
        seen.add((name, extras))
        dist = distribution(name)
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *extras)):
                todo.append((requirement.name.lower(), tuple(sorted(requirement.extras))))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists() and top != "..":
                folder.mkdir(exist_ok=True)
                (folder / top).symlink_to(source)
    return folder


@pytest.mark.slow
def test_a_real_pack_for_linux_installs_with_no_index_and_transfers(course_wheel, tmp_path, teacher_cache):
    """pip download through the configured index, then an install with no index at all."""
    weights = _trained_looking_weights(tmp_path / "teacher-weights.pth")
    room = tmp_path / "room"
    said = []

    def say(line: str) -> None:  # the size comes before any dependency is downloaded
        (building,) = tmp_path.glob(".room.*.building")  # the pack is built beside its folder, then renamed
        said.append((line, sorted(p.name for p in (building / "wheels").iterdir())))

    options = offline.PackOptions(
        platforms=["manylinux2014_x86_64"],
        python="3.11",
        torch=False,  # gigabytes: the learner's torch comes from this environment (below)
        course_wheel=course_wheel,
        weights=str(weights),
        paintings="cached",
    )
    try:
        offline.pack(room, options, say=say)
    except NSTError as exc:
        if "Could not find" in str(exc) or "network" in str(exc):
            pytest.skip(f"no package index reachable here: {exc}")
        raise
    ((line, before),) = said
    assert re.fullmatch(r"the pack will download \d+ wheels, \d+ MB \(largest: \S+ \d+ MB\)", line), line
    assert before == [course_wheel.name]
    wheels = sorted(p.name for p in (room / "wheels").iterdir())
    assert any(re.match(r"numpy-.*-cp311-.*manylinux", name) for name in wheels), wheels
    assert any(name.startswith("jupyterlab-") for name in wheels) and not any(n.startswith("torch") for n in wheels)

    learner = tmp_path / "learner"
    learner.mkdir()
    bin_dir = _fresh_venv(learner, links=_torch_links(learner / "torch-only"))
    env = _clean_env(learner, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PIP_CONFIG_FILE=os.devnull)
    env = {k: v for k, v in env.items() if k not in ("NST_COURSE_WEIGHTS", "PIP_FIND_LINKS", "PIP_INDEX_URL")}
    env = {k: v for k, v in env.items() if k != "PIP_EXTRA_INDEX_URL"}  # only the pack: no index, no other folder
    install = offline.install_command(str(room / "wheels"))
    subprocess.run(["bash", "-c", install], check=True, env=env, cwd=learner, timeout=600)
    done = subprocess.run(
        ["nst-course", "transfer", "town", "swirls", "--size", "64", "--steps", "3", "-q", "-o", "out.png"],
        capture_output=True,
        text=True,
        env={**env, "NST_COURSE_WEIGHTS": str(room / "weights" / "vgg19-features.pth")},
        cwd=learner,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "weights: file vgg19-features.pth" in done.stderr and (learner / "out.png").is_file()
    numpy_home = subprocess.run(
        ["python", "-c", "import numpy, jupyterlab; print(numpy.__file__)"], capture_output=True, text=True, env=env
    ).stdout
    assert numpy_home.startswith(str(learner / "venv")), numpy_home  # installed from the pack


@pytest.mark.slow
def test_binder_post_build_installs_the_course_and_fails_soft_without_network(tmp_path):
    bin_dir = _fresh_venv(tmp_path)
    repo = tmp_path / "repo"  # repo2docker builds from a copy of the repository
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "postBuild"):
        shutil.copy2(ROOT / name, repo / name)
    for name in ("nst_course", "notebooks"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = _clean_env(tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TORCH_HOME=str(tmp_path / "torch"))
    del env["NST_COURSE_WEIGHTS"]
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="false")  # pip's spelling of "no isolation": no download
    done = subprocess.run(
        ["bash", str(repo / "postBuild")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "no trained weights" in done.stdout and "paintings missing" in done.stdout
    where = subprocess.run(
        ["python", "-c", "import nst_course; print(nst_course.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert Path(where.strip()).is_relative_to(repo), where  # postBuild installed the course


def _repo2docker_environment() -> tuple[str | None, list[str]]:
    """What repo2docker takes from environment.yml: the Python version, and the pip requirements."""
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python, pip = None, []
    for dependency in environment["dependencies"]:
        if isinstance(dependency, dict):
            pip += dependency.get("pip", [])
        elif match := re.match(r"python\s*=+\s*([\d.]*)", dependency):
            python = match.group(1)
    return python, pip


def test_binder_builds_python_311_and_postbuild_installs_the_course():
    python, pip = _repo2docker_environment()
    assert python == "3.11"  # the Python CI runs; `python>=3.10` would give repo2docker's oldest
    # a local requirement (-e . or a path) makes repo2docker copy the whole repository before the
    # conda step, so every change to the repository rebuilds the environment
    assert not [r for r in pip if r.startswith(("-e", ".", "/", "file:"))], pip
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK)
    mode = subprocess.run(["git", "ls-files", "-s", "postBuild"], capture_output=True, text=True, cwd=ROOT).stdout
    assert not mode or mode.startswith("100755"), mode  # executable in git too (repo2docker checks it out)
    script = post_build.read_text(encoding="utf-8")
    assert re.search(r"^python -m pip install .*\s-e \.(\s|$)", script, re.MULTILINE), script
    assert script.index("pip install") < script.index("nst-course weights")


def test_environment_yml_brings_every_dependency():
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = {_name(d) for d in environment["dependencies"] if isinstance(d, str)}
    project = _pyproject()["project"]
    wanted = {_name(r) for r in [*project["dependencies"], *project["optional-dependencies"]["lab"]]}
    assert {"pytorch" if name == "torch" else name for name in wanted} <= conda  # postBuild installs with --no-deps


@pytest.mark.slow
def test_render_site_writes_each_lesson_with_its_pictures(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("render_site", ROOT / "tools" / "render_site.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    monkeypatch.setenv("NST_COURSE_QUICK", "1")  # restored afterwards; the tool sets it for its kernels
    assert render.main([str(tmp_path), "00", "--quick"]) == 0
    page = (tmp_path / "00-what-the-network-sees.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 2  # the pictures are in the page itself
    assert "conv5_1" in page  # with the executed outputs (the layer table)
    index = (tmp_path / "index.html").read_text()
    assert 'href="00-what-the-network-sees.html"' in index and "QUICK" in index
