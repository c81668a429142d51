"""JupyterHub for one class on one machine: every learner a local Jupyter server.

This is the configuration that ``benchmarks/classroom.py`` runs (it loads this file, then
sets only its own ports, token and folders), so what that benchmark measures is this set-up.

    pip install jupyterhub "nst-course[lab]"
    npm install -g configurable-http-proxy        # or give its path in NST_COURSE_HUB_PROXY
    NST_COURSE_HUB_PASSWORD=... jupyterhub -f docs/jupyterhub_config.py

Each learner gets a home folder under ``$NST_COURSE_HUB_HOMES`` (default
``/srv/nst-course/homes``), and at every start of their server the hub copies the lessons in
with the course's own ``nst-course lessons`` command (it never replaces a learner's edits, and
loads no torch). Learners log in with any name and the shared password.

Every learner's server runs as the hub's own system user (``SimpleLocalProcessSpawner``):
learners can read each other's files. That suits a room of trusted learners or a
teacher's trial; for separate system accounts use ``LocalProcessSpawner`` with
``PAMAuthenticator`` (the two commented lines below), and for many machines Zero to
JupyterHub (``docs/classroom.md``). Local processes have no memory or CPU limits: size the
machine by the figures ``benchmarks/classroom.py`` prints for your lessons.
"""

import asyncio
import os
import sys
import time

c = get_config()  # noqa: F821 (JupyterHub provides it when it reads this file)

HOMES = os.environ.get("NST_COURSE_HUB_HOMES", "/srv/nst-course/homes")
LESSONS = "nst-course-lessons"  # the folder in each home the lessons are copied into

c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(HOMES, "{username}")
# c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
# c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.DummyAuthenticator.password = os.environ.get("NST_COURSE_HUB_PASSWORD", "")
c.Authenticator.allow_all = True

c.Spawner.default_url = f"/lab/tree/{LESSONS}"
c.Spawner.start_timeout = 120  # the first start on a cold disk imports JupyterLab's server
c.Spawner.http_timeout = 120
if hasattr(os, "geteuid") and os.geteuid() == 0:
    # run as root (a container): Jupyter refuses root without this, and the hub shows a bare 500
    c.Spawner.args = ["--ServerApp.allow_root=True"]
# JupyterHub passes a server only the variables named here (and its own).
c.Spawner.env_keep = [
    "PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "NST_COURSE_WEIGHTS",  # a weights file every kernel reads (shared in the page cache), or "random"
    "NST_COURSE_CACHE",
    "NST_COURSE_QUICK",
]
c.Spawner.environment = {
    # One thread a kernel: torch otherwise starts one per core, and a class of kernels thrashes.
    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    # Memory for CPU: with "MALLOC_MMAP_THRESHOLD_": "131072" glibc hands freed tensors back to the
    # system at once; measured (benchmarks/kernel_memory.py): ~55 MiB less at a 128 px transfer's
    # peak, but ~40% more CPU time (system time, page faults). Left out.
}

if os.environ.get("NST_COURSE_HUB_PROXY"):
    c.ConfigurableHTTPProxy.command = [os.environ["NST_COURSE_HUB_PROXY"]]


async def copy_lessons(spawner) -> None:
    """The start hook: ``nst-course lessons HOME/nst-course-lessons`` for this learner, before the server starts."""
    home = spawner.home_dir_template.format(username=spawner.user.name)
    os.makedirs(home, exist_ok=True)
    # `nst-course lessons` run by the hub's own Python: the course of the environment the servers run in
    command = [sys.executable, "-m", "nst_course", "lessons", os.path.join(home, LESSONS)]
    if os.environ.get("NST_COURSE_HUB_SOLUTIONS", "") == "1":
        command.append("--solutions")  # the solutions too (the benchmark runs them, so every cell does its work)
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=home
    )
    output, _ = await process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"nst-course lessons failed for {spawner.user.name}: {output.decode(errors='replace')}")
    spawner.log.info("nst-course lessons for %s took %.2f s", spawner.user.name, seconds)


c.Spawner.pre_spawn_hook = copy_lessons
