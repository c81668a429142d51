"""A class on a real JupyterHub: the one-machine config, and the classroom benchmark run for real."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "jupyterhub_config.py"
BENCHMARK = ROOT / "benchmarks" / "classroom.py"


def _load_config(monkeypatch, tmp_path):
    traitlets_config = pytest.importorskip("traitlets.config.loader")
    monkeypatch.setenv("NST_COURSE_HUB_HOMES", str(tmp_path / "homes"))
    return traitlets_config.PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()


def _run_hook(hook, spawner) -> None:
    """Run the async start hook as the hub would, in an event loop of its own thread.

    (A browser test's Playwright keeps an event loop running in this thread.)
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(hook(spawner))).result()


def test_the_hub_config_spawns_local_servers_that_get_the_course_settings(monkeypatch, tmp_path):
    config = _load_config(monkeypatch, tmp_path)
    assert config.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert config.SimpleLocalProcessSpawner.home_dir_template == str(tmp_path / "homes" / "{username}")
    assert {"PATH", "NST_COURSE_WEIGHTS", "NST_COURSE_CACHE"} <= set(config.Spawner.env_keep)
    assert config.Spawner.environment["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS", "1")
    assert config.Spawner.default_url == "/lab/tree/nst-course-lessons"
    if os.geteuid() == 0:
        assert "--ServerApp.allow_root=True" in config.Spawner.args


@pytest.mark.parametrize("solutions", [False, True])
def test_the_hub_start_hook_copies_the_lessons_into_the_learners_home(monkeypatch, tmp_path, solutions):
    if solutions:
        monkeypatch.setenv("NST_COURSE_HUB_SOLUTIONS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    config = _load_config(monkeypatch, tmp_path)
    spawner = SimpleNamespace(
        user=SimpleNamespace(name="ada"),
        home_dir_template=config.SimpleLocalProcessSpawner.home_dir_template,
        log=logging.getLogger("test-hub"),
    )
    _run_hook(config.Spawner.pre_spawn_hook, spawner)
    lessons = tmp_path / "homes" / "ada" / "nst-course-lessons"
    assert sorted(p.name for p in lessons.glob("00-*.ipynb")) == ["00-what-the-network-sees.ipynb"]
    assert any((lessons / "solutions").glob("00-*.ipynb")) == solutions
    # a learner's edit survives the next start
    notebook = next(lessons.glob("00-*.ipynb"))
    notebook.write_text(notebook.read_text() + " ")
    _run_hook(config.Spawner.pre_spawn_hook, spawner)
    assert notebook.read_text().endswith(" ")


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("classroom_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _proxy_available() -> bool:
    return bool(shutil.which("configurable-http-proxy") or shutil.which("npm"))


@pytest.mark.slow
def test_two_learners_run_a_lesson_on_a_real_hub(tmp_path):
    """The benchmark with 2 learners on lesson 00 in quick mode, read back from its JSON report."""
    pytest.importorskip("jupyterhub")
    pytest.importorskip("websocket")
    if not _proxy_available():
        pytest.skip("configurable-http-proxy needs node and npm")
    report_file = tmp_path / "classroom.json"
    command = [sys.executable, str(BENCHMARK), "--learners", "2", "--lessons", "00", "--quick"]
    command += ["--json", str(report_file), "--cache", str(tmp_path / "cache")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_file.read_text())

    assert [learner["name"] for learner in report["learners"]] == ["learner1", "learner2"]
    for learner in report["learners"]:
        assert "failure" not in learner
        assert learner["ready_s"] > 0 and learner["start_hook_s"] is not None
        (run,) = learner["lessons"]
        assert run["lesson"] == "00" and run["error"] is None and run["seconds"] > 0
        saved = run["saved"]  # read back from the learner's home after the save
        assert saved["valid"] and saved["every_cell_run"] and saved["outputs_as_sent"]
        # every code cell has an output but the first, the install check, silent when the course is there
        assert saved["cells_with_output"] == saved["code_cells"] - 1
        for process in ("kernel", "server"):
            assert 0 < run["peak"][process]["uss"] <= run["peak"][process]["rss"]
    assert report["hub"]["hub"]["uss"] > 0 and report["hub"]["proxy"]["uss"] > 0
    lesson = report["lessons"]["00"]
    assert lesson["learners_per_16gib"] > 0 and lesson["learners_per_8_cores"] > 0

    kill = report["kill"]
    assert kill["learner"] == "learner1" and kill["kernel_gone"] and kill["server_alive"]
    assert kill["notebook_on_disk"]["valid"] and kill["restarted"] and kill["rerun_to_the_end"]

    stopped = report["stopped"]
    assert len(stopped["pids"]) >= 6 and stopped["left"] == []  # hub, proxy, 2 servers, 2+ kernels
    classroom = _benchmark_module()
    assert not [pid for pid, since in stopped["pids"] if classroom.alive(pid, since)]
