"""What one learner costs: peak memory and CPU time of each lesson, run top to bottom.

Each notebook (the solutions, so that every exercise does its work) runs in its own
fresh kernel at the lessons' default settings. A last cell, added for the measurement
only, reads the kernel's own peak resident memory and CPU time (``getrusage``), so the
numbers are the kernel's, not this script's. Wall time is measured around the run.

    python benchmarks/lesson_cost.py                     # every lesson, 1 thread, untrained weights
    python benchmarks/lesson_cost.py 01 --threads 2      # one lesson, two threads
    python benchmarks/lesson_cost.py --quick             # the test mode (tiny images), for a smoke test
    python benchmarks/lesson_cost.py 03 --cells 5        # and every cell that took 5 s or more

Set the threads to what a learner will have (a hub's CPU limit, a laptop's cores):
the CPU time hardly changes with it, the wall time does. Linux and macOS only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"

MEASURE = """\
import json, resource, sys
_usage = resource.getrusage(resource.RUSAGE_SELF)
_scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
print("LESSON_COST " + json.dumps({"peak_bytes": _usage.ru_maxrss * _scale,
      "cpu_seconds": _usage.ru_utime + _usage.ru_stime}))
"""


def cell_seconds(cell: dict) -> float | None:
    """How long an executed cell ran, from the timestamps the notebook client records."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def measure(notebook: Path, *, env: dict[str, str], timeout: int = 3600) -> dict[str, Any]:
    """Run ``notebook`` in a fresh kernel with ``env``: its peak memory, CPU and wall seconds,
    and each code cell's (number, as Jupyter's In [n] when run top to bottom; first line; seconds)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE))
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        start = time.perf_counter()
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
        ).execute()
        wall = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith("LESSON_COST ")), None)
    if line is None:
        raise SystemExit(f"{notebook.name}: the measuring cell printed nothing ({text[:200]!r})")
    cost = json.loads(line.removeprefix("LESSON_COST "))
    code = [cell for cell in nb.cells[:-1] if cell.cell_type == "code"]
    cells = [(number, _first_line(cell.source), cell_seconds(cell)) for number, cell in enumerate(code, start=1)]
    return {"peak_mib": cost["peak_bytes"] / 2**20, "cpu_s": cost["cpu_seconds"], "wall_s": wall, "cells": cells}


def _first_line(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("# NBVAL")]
    return lines[0][:70] if lines else ""


def machine(threads: int) -> str:
    cores = os.cpu_count() or 0
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    python = platform.python_version()
    return f"{platform.machine()} {platform.system()}, {cores} cores{memory}, {threads} thread(s), Python {python}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="only lessons whose file name starts with these (default all)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for the kernel (default 1)")
    parser.add_argument("--weights", default="random", help="NST_COURSE_WEIGHTS for the kernel (default random)")
    parser.add_argument("--quick", action="store_true", help="NST_COURSE_QUICK=1: tiny images, a smoke test")
    parser.add_argument("--json", action="store_true", help="print one JSON object per lesson")
    parser.add_argument("--cells", type=float, metavar="SECONDS", help="also list cells that took this long or more")
    args = parser.parse_args(argv)
    notebooks = sorted(SOLUTIONS.glob("[0-9][0-9]-*.ipynb"))
    if args.lessons:
        notebooks = [n for n in notebooks if any(n.name.startswith(p) for p in args.lessons)]
    if not notebooks:
        print(f"no lesson notebooks match {args.lessons} in {SOLUTIONS}", file=sys.stderr)
        return 1
    env = {
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
        "NST_COURSE_WEIGHTS": args.weights,
        "NST_COURSE_QUICK": "1" if args.quick else "0",
        "MPLBACKEND": "Agg",
    }
    if not args.json:
        print(f"# {machine(args.threads)}; weights {args.weights}{'; QUICK mode' if args.quick else ''}")
        print(f"{'lesson':<32} {'peak MiB':>9} {'CPU s':>8} {'wall s':>8}")
    for notebook in notebooks:
        cost = measure(notebook, env=env)
        cells = cost.pop("cells")
        if args.json:
            print(json.dumps({"lesson": notebook.stem, **{k: round(v, 1) for k, v in cost.items()}}))
        else:
            print(f"{notebook.stem:<32} {cost['peak_mib']:>9.0f} {cost['cpu_s']:>8.1f} {cost['wall_s']:>8.1f}")
        if args.cells is not None:
            for number, first, seconds in cells:
                if seconds is not None and seconds >= args.cells:
                    print(f"    In [{number}] {seconds:>7.1f} s  {first}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
