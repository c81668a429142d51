"""A class on a real JupyterHub: simulated learners run the lessons, and what each one costs.

The script starts JupyterHub (``pip install jupyterhub``) with configurable-http-proxy (from
npm, installed into this script's own cache folder when missing) and the one-machine
configuration ``docs/jupyterhub_config.py``: local-process servers, the lessons copied in by
the hub's start hook (``nst-course lessons``). It creates N learners, each with their own API
token, and each learner does what JupyterLab does for a notebook: opens a kernel session
through the proxy, runs every code cell over the kernel's websocket, collects the outputs
into the notebook and saves it through the server. The learners run the solutions copy of
each lesson (``nst-course lessons --solutions``), so that every exercise does its work.

It reports, per learner: seconds to a ready server, seconds per lesson, the peak resident
(RSS), proportional (PSS) and private (USS) memory of the kernel and of the server, sampled
from /proc/PID/smaps_rollup while the cells run, and whether the saved notebook, read back
from disk, holds every cell's outputs. For the class: the hub's and the proxy's memory, and
per lesson how many learners fit in 16 GiB (by private memory: kernel + server USS at their
joint peak) and on 8 cores (by CPU seconds, for a class that runs the lesson within
``--slot`` seconds). One learner's kernel is killed (``kill -9``) in the middle of a lesson:
the server must survive, the notebook on disk stay whole, and the lesson run again to the end.

Everything it starts is stopped at the end, by process id, on failure and Ctrl-C too.

    python benchmarks/classroom.py --learners 2 --lessons 00 --quick     # a smoke test
    python benchmarks/classroom.py --learners 4 --json classroom.json     # every lesson, defaults

Kernels use untrained weights (``NST_COURSE_WEIGHTS=random``, no network) unless
``--weights FILE`` names a weights file. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HUB_CONFIG = ROOT / "docs" / "jupyterhub_config.py"
PROXY_VERSION = "5.3.0"
LESSONS_DIR = "nst-course-lessons"
MIB = 2**20
GIB16 = 16 * 2**30
PROCS = ("kernel", "server")
SERVICE = "classroom-benchmark"


# ---------------------------------------------------------------- processes and memory


def read_memory(pid: int) -> dict[str, int] | None:
    """RSS, PSS and USS (private clean + dirty) of a process, in bytes, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name.strip()] = int(parts[0]) * 1024
    if "Rss" not in fields:
        return None
    return {
        "rss": fields["Rss"],
        "pss": fields.get("Pss", 0),
        "uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
        # written pages: never shared. USS also counts the clean pages of files (libraries, a mapped
        # weights file) that only this process maps; a second learner's kernel shares those.
        "dirty": fields.get("Private_Dirty", 0),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def started_at(pid: int) -> int | None:
    """When a process started (clock ticks after boot): with its id, it names one process, never a later one."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def alive(pid: int, since: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie), and, given ``since``, is still the process that started then."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z" and (since is None or int(fields[19]) == since)


class Sampler:
    """Samples the memory of watched processes in the background and keeps each key's peaks.

    A key watches one or more processes; its peak is the largest *sum* over them at one instant
    (the kernel and its server together), besides each process's own peaks.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._watch: dict[str, dict[str, int]] = {}  # key -> {label: pid}
        self.peaks: dict[str, dict[str, dict[str, int]]] = {}  # key -> label ("total" too) -> peaks
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, key: str, **pids: int) -> None:
        with self._lock:
            self._watch.setdefault(key, {}).update(pids)
            self.peaks.setdefault(key, {})
        self.sample_now()

    def unwatch(self, key: str) -> dict[str, dict[str, int]]:
        self.sample_now()
        with self._lock:
            self._watch.pop(key, None)
            return self.peaks.get(key, {})

    def sample_now(self) -> None:
        with self._lock:
            watched = {key: dict(pids) for key, pids in self._watch.items()}
        for key, pids in watched.items():
            total = {"rss": 0, "pss": 0, "uss": 0, "dirty": 0}
            for label, pid in pids.items():
                memory = read_memory(pid)
                if memory is None:
                    continue
                with self._lock:
                    peak = self.peaks[key].setdefault(label, {"rss": 0, "pss": 0, "uss": 0, "dirty": 0})
                    for name, value in memory.items():
                        peak[name] = max(peak[name], value)
                        total[name] += value
            with self._lock:
                peak = self.peaks[key].setdefault("total", {"rss": 0, "pss": 0, "uss": 0, "dirty": 0})
                for name, value in total.items():
                    peak[name] = max(peak[name], value)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_now()


# ---------------------------------------------------------------- the hub


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_command(cache: Path) -> str:
    """configurable-http-proxy: on PATH, else installed with npm into ``cache`` (once)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    installed = cache / "node_modules" / ".bin" / "configurable-http-proxy"
    if not installed.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("classroom: configurable-http-proxy needs node and npm (https://nodejs.org); install them")
        cache.mkdir(parents=True, exist_ok=True)
        print(f"installing configurable-http-proxy {PROXY_VERSION} into {cache} with npm", flush=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(cache),
                "--no-audit",
                "--no-fund",
                f"configurable-http-proxy@{PROXY_VERSION}",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not installed.exists():
            raise SystemExit(f"classroom: npm could not install configurable-http-proxy:\n{done.stderr[-2000:]}")
    return str(installed)


def hub_config(folder: Path, *, port: int, hub_port: int, api_port: int, token: str, proxy: str) -> Path:
    """The benchmark's config: the shipped one-machine config, then only ports, token and folders."""
    path = folder / "jupyterhub_config.py"
    path.write_text(
        f"""c = get_config()
load_subconfig({str(HUB_CONFIG)!r})
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{folder / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(folder / "jupyterhub.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.services = [{{"name": {SERVICE!r}, "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": {SERVICE!r},
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
    "services": [{SERVICE!r}],
}}]
"""
    )
    return path


class Http:
    """JSON over HTTP with a token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base.rstrip("/"), token

    def __call__(self, method: str, path: str, body: Any = None, *, timeout: float = 60) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None


@dataclass
class Hub:
    folder: Path
    process: subprocess.Popen
    url: str
    api: Http
    log: Path
    started: dict[int, int | None] = field(default_factory=dict)  # every process this run started: id -> start time

    @property
    def pid(self) -> int:
        return self.process.pid

    def proxy_pid(self) -> int | None:
        return next((pid for pid in children(self.pid) if "configurable-http-proxy" in " ".join(cmdline(pid))), None)

    def server_pid(self, user: str) -> int | None:
        for pid in children(self.pid):
            if environ(pid).get("JUPYTERHUB_USER") == user and "singleuser" in " ".join(cmdline(pid)):
                return pid
        return None

    def note(self, *pids: int | None) -> None:
        for pid in pids:
            if pid and pid not in self.started:
                self.started[pid] = started_at(pid)

    def note_tree(self) -> None:
        self.note(self.pid, *children(self.pid))


def start_hub(folder: Path, env: dict[str, str], proxy: str) -> Hub:
    token = secrets.token_hex(32)
    port, hub_port, api_port = free_port(), free_port(), free_port()
    config = hub_config(folder, port=port, hub_port=hub_port, api_port=api_port, token=token, proxy=proxy)
    log = folder / "jupyterhub.log"
    jupyterhub = Path(sys.executable).with_name("jupyterhub")
    command = [str(jupyterhub) if jupyterhub.exists() else "jupyterhub", "-f", str(config)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    hub = Hub(folder, process, url, Http(url + "/hub/api", token), log)
    hub.note(process.pid)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterHub stopped at start (exit {process.returncode}):\n{tail(log)}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            hub.api("GET", "/", timeout=5)
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"JupyterHub did not answer in 90 s:\n{tail(log)}")
        time.sleep(0.3)
    hub.note_tree()
    return hub


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def stop_hub(hub: Hub, users: list[str]) -> list[int]:
    """Stop every server, then the hub (which stops the proxy); kill by id whatever remains. Returns the ids left."""
    hub.note_tree()
    for user in users:
        with contextlib.suppress(Exception):
            hub.api("DELETE", f"/users/{user}/server", timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(hub.server_pid(user) for user in users):
        time.sleep(0.3)
    hub.note_tree()
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait()
    for pid, since in hub.started.items():
        if alive(pid, since):  # the same process, not one that has since been given its id
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    return [pid for pid, since in hub.started.items() if alive(pid, since)]


# ---------------------------------------------------------------- a learner


class KernelDied(RuntimeError):
    pass


def _message(msg_type: str, content: dict, session: str, channel: str = "shell") -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": session,
            "username": "learner",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": channel,
        "buffers": [],
    }


def _output(msg_type: str, content: dict) -> dict | None:
    """A kernel's iopub message as a notebook output (nbformat 4), or None for other messages."""
    if msg_type == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if msg_type in ("display_data", "execute_result"):
        out = {"output_type": msg_type, "data": content.get("data", {}), "metadata": content.get("metadata", {})}
        if msg_type == "execute_result":
            out["execution_count"] = content.get("execution_count")
        return out
    if msg_type == "error":
        return {
            "output_type": "error",
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": content["traceback"],
        }
    return None


def _append(outputs: list[dict], out: dict) -> None:
    last = outputs[-1] if outputs else None
    if out["output_type"] == "stream" and last and last["output_type"] == "stream" and last["name"] == out["name"]:
        last["text"] += out["text"]  # JupyterLab shows consecutive stream messages as one output
    else:
        outputs.append(out)


class Kernel:
    """One notebook's kernel over its websocket, as JupyterLab talks to it."""

    def __init__(self, ws_url: str, token: str, session: str) -> None:
        import websocket  # websocket-client

        self.session = session
        # the token goes in a header: JupyterHub's servers ignore one in a websocket URL
        self.ws = websocket.create_connection(
            f"{ws_url}?session_id={session}", header=[f"Authorization: token {token}"], timeout=60
        )
        self.ws.settimeout(5)  # then read in short waits, so that a cell's own time limit is kept

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Ask for the kernel's info until it answers, as JupyterLab does on connecting."""
        import websocket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = _message("kernel_info_request", {}, self.session)
            self.ws.send(json.dumps(request))
            until = time.monotonic() + 2
            while time.monotonic() < until:
                try:
                    frame = self.ws.recv()
                except websocket.WebSocketTimeoutException:
                    break
                if isinstance(frame, str):
                    msg = json.loads(frame)
                    if msg.get("msg_type") == "kernel_info_reply" and (
                        msg.get("parent_header", {}).get("msg_id") == request["header"]["msg_id"]
                    ):
                        return
        raise TimeoutError(f"the kernel did not answer in {timeout:.0f} s")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()

    def execute(self, code: str, *, timeout: float, on_start=None) -> tuple[list[dict], int | None, str]:
        """Run ``code``: its outputs, execution count and reply status ("ok" or "error")."""
        import websocket

        request = _message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            self.session,
        )
        msg_id = request["header"]["msg_id"]
        self.ws.send(json.dumps(request))
        outputs: list[dict] = []
        count, status, idle, clear_on_next = None, None, False, False
        deadline = time.monotonic() + timeout
        while status is None or not idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"a cell ran longer than {timeout:.0f} s")
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError) as exc:
                raise KernelDied(f"the kernel's websocket closed ({exc})") from None
            if not isinstance(frame, str):
                continue  # binary frames carry widget buffers, never cell outputs
            msg = json.loads(frame)
            msg_type, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
            if msg_type == "status" and content.get("execution_state") in ("restarting", "dead", "autorestarting"):
                raise KernelDied(f"the kernel died ({content['execution_state']})")
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg_type == "execute_input" and on_start:
                on_start()
            elif msg_type == "execute_reply":
                status, count = content.get("status"), content.get("execution_count")
            elif msg_type == "status" and content.get("execution_state") == "idle":
                idle = True
            elif msg_type == "clear_output":
                if content.get("wait"):
                    clear_on_next = True
                else:
                    outputs.clear()
            else:
                out = _output(msg_type, content)
                if out is not None:
                    if clear_on_next:
                        outputs.clear()
                        clear_on_next = False
                    _append(outputs, out)
        return outputs, count, status


@dataclass
class Learner:
    name: str
    token: str
    home: Path
    base: str  # http://127.0.0.1:PORT/user/NAME
    server_pid: int | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> Http:
        return Http(self.base + "/api", self.token)


def notebook_path(lesson: str, home: Path) -> str:
    """The solutions copy of a lesson in the learner's folder, relative to the home (the server's root)."""
    found = sorted((home / LESSONS_DIR / "solutions").glob(f"{lesson}-*.ipynb"))
    if not found:
        raise RuntimeError(f"lesson {lesson} is not in {home / LESSONS_DIR / 'solutions'}")
    return found[0].relative_to(home).as_posix()


def kernel_pid(server_pid: int, kernel_id: str) -> int | None:
    for pid in children(server_pid):
        if any(f"kernel-{kernel_id}.json" in arg for arg in cmdline(pid)):
            return pid
    return None


def save(learner: Learner, path: str, notebook: dict) -> None:
    learner.api("PUT", f"/contents/{path}", {"type": "notebook", "format": "json", "content": notebook})


def check_on_disk(learner: Learner, path: str, expected: list[list[dict]] | None = None) -> dict[str, Any]:
    """Read the saved notebook from disk: valid, and (given ``expected``) every code cell's outputs there."""
    import nbformat

    try:
        notebook = nbformat.read(learner.home / path, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # a damaged file in any way
        return {"valid": False, "problem": f"{type(exc).__name__}: {exc}"[:200]}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    report: dict[str, Any] = {"valid": True, "code_cells": len(code)}
    report["cells_with_output"] = sum(bool(cell.outputs) for cell in code)
    if expected is not None:
        report["every_cell_run"] = all(cell.execution_count for cell in code)
        report["outputs_as_sent"] = [len(cell.outputs) for cell in code] == [len(out) for out in expected]
        report["complete"] = report["every_cell_run"] and report["outputs_as_sent"]
    return report


def run_lesson(
    learner: Learner,
    lesson: str,
    sampler: Sampler,
    hub: Hub,
    *,
    cell_timeout: float,
    kill_at: int | None = None,
) -> dict[str, Any]:
    """Open the lesson's notebook in a kernel session, run every code cell, save it; shut the kernel down.

    With ``kill_at``, the kernel is killed (``kill -9``) as code cell ``kill_at`` starts; the
    notebook is saved first (as JupyterLab's autosave would have), and the lesson then runs
    again from the top in the restarted kernel: the time and CPU reported are the rerun's.
    """
    path = notebook_path(lesson, learner.home)
    notebook = learner.api("GET", f"/contents/{path}?content=1&type=notebook")["content"]
    start = time.perf_counter()
    session = learner.api(
        "POST", "/sessions", {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}}
    )
    kernel_id = session["kernel"]["id"]
    pid = None
    deadline = time.monotonic() + 60
    while pid is None and time.monotonic() < deadline:
        pid = kernel_pid(learner.server_pid, kernel_id)
        time.sleep(0.1)
    if pid is None:
        raise RuntimeError(f"{learner.name}: no kernel process for kernel {kernel_id}")
    hub.note(pid)
    key = f"{learner.name}/{lesson}"
    sampler.watch(key, kernel=pid, server=learner.server_pid)
    ws_url = learner.base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    report: dict[str, Any] = {"lesson": lesson, "notebook": path}
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    try:
        runs = 0
        while True:
            runs += 1
            for cell in code_cells:
                cell["outputs"], cell["execution_count"] = [], None
            kernel = Kernel(ws_url, learner.token, uuid.uuid4().hex)
            try:
                kernel.wait_until_ready()
                failed = None
                for number, cell in enumerate(code_cells):
                    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    on_start = None
                    if kill_at is not None and runs == 1 and number == kill_at:
                        save(learner, path, notebook)  # what autosave would have written by now

                        def on_start(pid=pid):
                            time.sleep(0.2)  # the cell is running
                            os.kill(pid, signal.SIGKILL)

                    outputs, count, status = kernel.execute(source, timeout=cell_timeout, on_start=on_start)
                    cell["outputs"], cell["execution_count"] = outputs, count
                    if status != "ok":
                        failed = f"cell {number + 1}: " + next(
                            (f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"), status
                        )
                        break
            except KernelDied as exc:
                report["kill"] = kill_report(learner, path, hub, pid, kernel_id, str(exc), number)
                report["kill"]["seconds_before"] = time.perf_counter() - start
                start = time.perf_counter()  # the rerun: the whole lesson again, in a fresh kernel
                new_pid = wait_for_new_kernel(learner, kernel_id, pid)
                if new_pid is None:
                    report["kill"]["restarted"] = False
                    raise RuntimeError(f"{learner.name}: the kernel did not come back after kill -9") from None
                report["kill"]["restarted"] = True
                pid = new_pid
                hub.note(pid)
                sampler.watch(key, kernel=pid)
                continue
            finally:
                kernel.close()
            break
        report["cpu_s"] = cpu_seconds(pid) or 0.0
        report["seconds"] = time.perf_counter() - start
        report["error"] = failed
        save(learner, path, notebook)
        report["saved"] = check_on_disk(learner, path, [cell["outputs"] for cell in code_cells])
        if "kill" in report:
            report["kill"]["rerun_to_the_end"] = failed is None and report["saved"].get("complete", False)
    finally:
        peaks = sampler.unwatch(key)
        with contextlib.suppress(Exception):
            learner.api("DELETE", f"/sessions/{session['id']}")  # the learner shuts the kernel down
    report["peak"] = {label: {name: value / MIB for name, value in values.items()} for label, values in peaks.items()}
    return report


def kill_report(learner: Learner, path: str, hub: Hub, pid: int, kernel_id: str, how: str, cell: int) -> dict:
    """After a kernel's kill -9: is the server alive and answering, is the notebook on disk whole?"""
    time.sleep(0.5)
    server_alive = learner.server_pid is not None and alive(learner.server_pid)
    try:
        answers = bool(learner.api("GET", "/status", timeout=20))
    except Exception:
        answers = False
    return {
        "killed_pid": pid,
        "at_code_cell": cell + 1,
        "seen_as": how,
        "kernel_gone": not alive(pid),
        "server_alive": server_alive and answers,
        "notebook_on_disk": check_on_disk(learner, path),
    }


def wait_for_new_kernel(learner: Learner, kernel_id: str, old_pid: int, timeout: float = 90) -> int | None:
    """The server restarts a dead kernel under the same id: its new process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = kernel_pid(learner.server_pid, kernel_id)
        if pid and pid != old_pid:
            return pid
        time.sleep(0.3)
    return None


# ---------------------------------------------------------------- the class


def start_learner(hub: Hub, name: str, homes: Path) -> Learner:
    hub.api("POST", f"/users/{name}")
    token = hub.api("POST", f"/users/{name}/tokens", {"note": "classroom benchmark", "expires_in": 86400})["token"]
    learner = Learner(name, token, homes / name, f"{hub.url}/user/{name}")
    start = time.perf_counter()
    with contextlib.suppress(urllib.error.HTTPError):  # 202: the start goes on in the background
        hub.api("POST", f"/users/{name}/server", timeout=180)
    deadline = time.monotonic() + 180
    while True:
        model = hub.api("GET", f"/users/{name}")
        server = (model.get("servers") or {}).get("", {})
        if server.get("ready"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}'s server was not ready in 180 s:\n{tail(hub.log)}")
        if not server and model.get("pending") is None and time.perf_counter() - start > 5:
            raise RuntimeError(f"{name}'s server failed to start:\n{tail(hub.log)}")
        time.sleep(0.2)
    # ready by the hub; then the learner's browser reaches its server through the proxy
    learner.api("GET", "/status")
    learner.result["ready_s"] = time.perf_counter() - start
    learner.server_pid = hub.server_pid(name)
    hub.note(learner.server_pid, *children(learner.server_pid or 0))
    learner.result["start_hook_s"] = start_hook_seconds(hub.log, name)
    return learner


def start_hook_seconds(log: Path, name: str) -> float | None:
    marker = f"nst-course lessons for {name} took "
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if marker in line:
            return float(line.split(marker, 1)[1].split()[0])
    return None


def learner_thread(learner: Learner, lessons: list[str], sampler: Sampler, hub: Hub, options) -> None:
    runs = learner.result.setdefault("lessons", [])
    try:
        for lesson in lessons:
            kill_at = None
            if learner.name == options.kill_learner and lesson == options.kill_lesson:
                kill_at = options.kill_cell
            runs.append(run_lesson(learner, lesson, sampler, hub, cell_timeout=options.cell_timeout, kill_at=kill_at))
    except Exception as exc:
        learner.result["failure"] = f"{type(exc).__name__}: {exc}"


def summarise(report: dict, slot: float) -> dict:
    """Per lesson, the worst over the learners: peak private memory, CPU seconds; learners per 16 GiB and 8 cores."""
    hub_private = report["hub"]["hub"]["uss"] + report["hub"].get("proxy", {}).get("uss", 0)
    lessons: dict[str, dict] = {}
    for learner in report["learners"]:
        for run in learner.get("lessons", []):
            # a killed lesson's time and CPU are its rerun's (top to bottom in a fresh kernel);
            # its memory peak spans both runs
            row = lessons.setdefault(run["lesson"], {"private_mib": 0.0, "cpu_s": 0.0, "seconds": 0.0, "runs": 0})
            peak = run["peak"].get("total", {})
            row["private_mib"] = max(row["private_mib"], peak.get("uss", 0.0))
            row["kernel_uss_mib"] = max(row.get("kernel_uss_mib", 0.0), run["peak"].get("kernel", {}).get("uss", 0.0))
            row["server_uss_mib"] = max(row.get("server_uss_mib", 0.0), run["peak"].get("server", {}).get("uss", 0.0))
            row["kernel_rss_mib"] = max(row.get("kernel_rss_mib", 0.0), run["peak"].get("kernel", {}).get("rss", 0.0))
            row["dirty_mib"] = max(row.get("dirty_mib", 0.0), peak.get("dirty", 0.0))
            clean = sum(
                run["peak"].get(p, {}).get("rss", 0.0) - run["peak"].get(p, {}).get("dirty", 0.0) for p in PROCS
            )
            row["shared_mib"] = max(row.get("shared_mib", 0.0), clean)
            row["cpu_s"] = max(row["cpu_s"], run["cpu_s"])
            row["seconds"] = max(row["seconds"], run["seconds"])
            row["runs"] += 1
    for row in lessons.values():
        if row["private_mib"]:
            row["learners_per_16gib"] = int((GIB16 / MIB - hub_private) // row["private_mib"])
        if row.get("dirty_mib"):
            # the written pages per learner, and the pages a class shares (libraries, the weights file) once
            room = GIB16 / MIB - hub_private - row["shared_mib"]
            row["learners_per_16gib_shared_once"] = int(room // row["dirty_mib"])
        if row["cpu_s"]:
            row["learners_per_8_cores"] = int(8 * slot // row["cpu_s"])
    return lessons


def print_report(report: dict) -> None:
    hub = report["hub"]
    print(
        f"\nhub {hub['hub']['rss']:.0f} MiB RSS / {hub['hub']['uss']:.0f} MiB USS, "
        f"proxy {hub.get('proxy', {}).get('rss', 0):.0f} MiB RSS / {hub.get('proxy', {}).get('uss', 0):.0f} MiB USS"
    )
    print("\nlearner  ready s  hook s  lesson  seconds  kernel RSS/PSS/USS MiB   server RSS/PSS/USS MiB  saved")
    for learner in report["learners"]:
        hook = learner.get("start_hook_s")
        for run in learner.get("lessons", []):
            k, s = run["peak"].get("kernel", {}), run["peak"].get("server", {})
            saved = run.get("saved", {})
            ok = "every output" if saved.get("complete") else f"INCOMPLETE {saved}"
            if run.get("error"):
                ok += f" ERROR {run['error']}"
            print(
                f"{learner['name']:8} {learner.get('ready_s', 0):7.1f} "
                f"{hook if hook is not None else float('nan'):7.2f}"
                f"  {run['lesson']:6} {run['seconds']:7.1f}  "
                f"{k.get('rss', 0):6.0f} {k.get('pss', 0):6.0f} {k.get('uss', 0):6.0f}       "
                f"{s.get('rss', 0):6.0f} {s.get('pss', 0):6.0f} {s.get('uss', 0):6.0f}   {ok}"
                + ("  (killed, rerun)" if "kill" in run else "")
            )
        if learner.get("failure"):
            print(f"{learner['name']:8} FAILED: {learner['failure']}")
    print(f"\nper lesson (private = kernel + server USS at their joint peak; CPU for a {report['slot_s']:.0f} s slot)")
    print(
        "lesson  private MiB  kernel USS  server USS  dirty MiB  CPU s  wall s  "
        "learners/16 GiB  (dirty, shared once)  learners/8 cores"
    )
    for lesson, row in sorted(report["lessons"].items()):
        print(
            f"{lesson:6}  {row['private_mib']:10.0f}  {row.get('kernel_uss_mib', 0):10.0f}  "
            f"{row.get('server_uss_mib', 0):10.0f}  {row.get('dirty_mib', 0):9.0f}  {row['cpu_s']:5.1f}  "
            f"{row['seconds']:6.1f}  {row.get('learners_per_16gib', 0):15}  "
            f"{row.get('learners_per_16gib_shared_once', 0):20}  {row.get('learners_per_8_cores', 0):16}"
        )
    print(
        "USS counts clean pages of files that only that process maps at that moment (a library, the weights "
        "file); dirty (written) pages are what every further learner adds, the rest is shared once"
    )
    kill = report.get("kill")
    if kill:
        print(
            f"\nkill -9 of {kill['learner']}'s kernel at code cell {kill.get('at_code_cell')} of lesson "
            f"{kill['lesson']}: server alive {kill.get('server_alive')}, notebook on disk valid "
            f"{kill.get('notebook_on_disk', {}).get('valid')}, "
            f"rerun to the end {kill.get('rerun_to_the_end')}"
        )
    print(f"stopped: {len(report['stopped']['pids'])} processes, left running: {report['stopped']['left']}")


def run_class(options) -> dict:
    lessons = options.lessons
    work = Path(tempfile.mkdtemp(prefix="nst-classroom-"))
    homes = work / "homes"
    homes.mkdir()
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
            "NST_COURSE_HUB_HOMES": str(homes),
            "NST_COURSE_HUB_SOLUTIONS": "1",
            "NST_COURSE_WEIGHTS": options.weights,
            # one cache for the class (paintings, the untrained weights' file), not one per learner's home
            "NST_COURSE_CACHE": str(Path(options.cache).expanduser().resolve()),
            "OMP_NUM_THREADS": str(options.threads),
        }
    )
    env.pop("MPLBACKEND", None)  # kernels draw inline, as in JupyterLab
    if options.quick:
        env["NST_COURSE_QUICK"] = "1"
    else:
        env.pop("NST_COURSE_QUICK", None)
    proxy = proxy_command(Path(options.proxy_cache))
    report: dict[str, Any] = {
        "learners": [],
        "lessons_run": lessons,
        "quick": options.quick,
        "weights": options.weights,
        "threads": options.threads,
        "slot_s": options.slot,
        "cpus": os.cpu_count(),
    }
    hub = None
    names = [f"learner{i + 1}" for i in range(options.learners)]
    try:
        hub = start_hub(work, env, proxy)
        with Sampler() as sampler:
            sampler.watch("hub", hub=hub.pid)
            proxy_pid = hub.proxy_pid()
            if proxy_pid:
                sampler.watch("hub", proxy=proxy_pid)
            # the class logs in at once
            started: list[Learner | Exception] = [None] * len(names)  # type: ignore[list-item]

            def start(i: int) -> None:
                try:
                    started[i] = start_learner(hub, names[i], homes)
                except Exception as exc:
                    started[i] = exc

            # daemon threads: on Ctrl-C the hub is stopped at once and the process exits without them
            threads = [threading.Thread(target=start, args=(i,), daemon=True) for i in range(len(names))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            failures = [f"{names[i]}: {x}" for i, x in enumerate(started) if isinstance(x, Exception)]
            if failures:
                raise RuntimeError("\n".join(failures))
            learners = [x for x in started if isinstance(x, Learner)]
            threads = [
                threading.Thread(target=learner_thread, args=(learner, lessons, sampler, hub, options), daemon=True)
                for learner in learners
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            hub.note_tree()
            peaks = sampler.unwatch("hub")
        report["hub"] = {label: {n: v / MIB for n, v in values.items()} for label, values in peaks.items()}
        for learner in learners:
            report["learners"].append({"name": learner.name, **learner.result})
        report["lessons"] = summarise(report, options.slot)
        for learner in report["learners"]:
            for run in learner.get("lessons", []):
                if "kill" in run:
                    report["kill"] = {"learner": learner["name"], "lesson": run["lesson"], **run["kill"]}
    finally:
        if hub is not None:
            left = stop_hub(hub, names)
            report["stopped"] = {"pids": [[pid, since] for pid, since in hub.started.items()], "left": left}
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept: {work}")
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=4, help="simulated learners (default 4)")
    parser.add_argument(
        "--lessons", default="", help="comma-separated lesson numbers, e.g. 00,01 (default: every lesson)"
    )
    parser.add_argument("--quick", action="store_true", help="NST_COURSE_QUICK=1: tiny sizes, every cell still runs")
    parser.add_argument("--weights", default="random", help="NST_COURSE_WEIGHTS for the kernels (default random)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS per kernel (default 1)")
    parser.add_argument(
        "--cache",
        default=os.environ.get("NST_COURSE_CACHE")
        or os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "nst-course"),
        help="NST_COURSE_CACHE for every learner (default: yours)",
    )
    parser.add_argument("--slot", type=float, default=600, help="seconds a class has for a lesson (default 600)")
    parser.add_argument("--cell-timeout", type=float, default=1800, help="seconds a cell may run (default 1800)")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 test")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the hub's folder (logs, homes) for inspection")
    parser.add_argument(
        "--proxy-cache",
        default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "nst-course", "proxy"),
        help="where npm installs configurable-http-proxy when it is not on PATH",
    )
    options = parser.parse_args(argv)
    available = sorted(p.name[:2] for p in (ROOT / "notebooks" / "solutions").glob("[0-9][0-9]-*.ipynb"))
    options.lessons = [x.strip().zfill(2) for x in options.lessons.split(",") if x.strip()] or available
    unknown = [x for x in options.lessons if x not in available]
    if unknown:
        parser.error(f"no lesson {', '.join(unknown)}; the lessons are {', '.join(available)}")
    if options.learners < 1:
        parser.error("--learners must be at least 1")
    options.kill_learner = None if options.no_kill else "learner1"
    options.kill_lesson = options.lessons[0]
    code_cells = _count_code_cells(options.kill_lesson)
    options.kill_cell = max(1, code_cells // 2)  # 0-based: a cell in the middle
    return options


def _count_code_cells(lesson: str) -> int:
    path = next((ROOT / "notebooks" / "solutions").glob(f"{lesson}-*.ipynb"))
    return sum(cell["cell_type"] == "code" for cell in json.loads(path.read_text())["cells"])


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    if not sys.platform.startswith("linux"):
        print("classroom: Linux only (reads /proc)", file=sys.stderr)
        return 2
    options = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with Ctrl-C ignored (`&`)
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` or a timeout stops the class as Ctrl-C does
    try:
        report = run_class(options)
    except KeyboardInterrupt:
        print("classroom: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print_report(report)
    if options.json:
        options.json.write_text(json.dumps(report, indent=1))
    ok = (
        all(
            not learner.get("failure")
            and all(run.get("saved", {}).get("complete") and not run.get("error") for run in learner.get("lessons", []))
            for learner in report["learners"]
        )
        and not report["stopped"]["left"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
