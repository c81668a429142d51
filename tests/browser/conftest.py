"""JupyterLab in headless Chromium: a server, a browser, and a notebook opened and run.

The server runs on 127.0.0.1 with a random free port and a token, in a temporary
copy of ``notebooks/`` (the stored notebooks are never touched), with untrained
weights and the quick mode. Its settings (no news toast, every cell kept in the
page) live in a temporary folder too. It is stopped by its PID at the end.
Screenshots go to ``artifacts/screenshots/``, the server's log to
``artifacts/jupyterlab.log``.

Without /usr/bin/chromium (or ``$NST_COURSE_CHROMIUM``) or the playwright package
every browser test is skipped with the reason. ``$NST_COURSE_NOTEBOOKS`` tests
the notebooks of another folder (for example freshly built ones).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DEMO_NAME, NOTEBOOKS, OVERRIDES, ROOT, write_demo


def _why_no_browser() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NST_COURSE_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_no_browser()
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, notebook: str) -> str:
        """The notebook alone in a fresh workspace (no tabs restored from an earlier page)."""
        workspace = re.sub(r"[^A-Za-z0-9]+", "-", Path(notebook).stem)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def shut_down_kernels(self) -> None:
        """End every session's kernel, so one lesson's kernel does not slow the next."""
        try:
            for session in self.api("/api/sessions"):
                self.api(f"/api/sessions/{session['id']}", method="DELETE")
        except (urllib.error.URLError, OSError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM: the server shuts its kernels down and exits
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own process group: the server and its kernels
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def notebook_root(tmp_path_factory) -> Path:
    """A temporary copy of notebooks/, or a demo of the widgets while there are no lessons."""
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        root.mkdir()
    if not any(root.glob("[0-9][0-9]-*.ipynb")):
        write_demo(root / DEMO_NAME)
    return root


@pytest.fixture(scope="session")
def lab(notebook_root, tmp_path_factory):
    """A JupyterLab server for the whole session, stopped by its PID at the end."""
    home = tmp_path_factory.mktemp("lab-home")
    app_settings = home / "app-settings"
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(json.dumps(OVERRIDES, indent=1))
    port, token = _free_port(), os.urandom(16).hex()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel picks the inline backend
    env |= {
        "NST_COURSE_WEIGHTS": "random",
        "NST_COURSE_QUICK": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(home / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebook_root}",
        f"--LabApp.app_settings_dir={app_settings}",
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(f"http://127.0.0.1:{port}", token, notebook_root, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer /api/status within 60 s:\n{server.log_tail()}")
                time.sleep(0.3)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
