"""Do the estimates hold? What ``nst_course.engine.estimate`` predicts before a transfer, against what it then costs.

Run:  python benchmarks/estimate_accuracy.py [--sizes 128,256] [--steps 40] [--memory-sizes 512]
                                             [--memory-steps 4] [--device cpu] [--weights random]

Each run is a fresh process (so peak memory figures do not mix): load the network, load
"town" and "swirls", ask ``estimate_settings`` for the time and peak memory, then run
``nst.transfer`` with the stopping rule off (so every step runs, as the estimate assumes) and
measure the wall seconds, the CPU seconds and the peak memory (CPU: the process's peak resident set,
``ru_maxrss``; CUDA: ``torch.cuda.max_memory_allocated``). ``--sizes`` run ``--steps`` steps;
``--memory-sizes`` run ``--memory-steps`` (few: for the memory figure, and a short time check).
``--default-run`` adds, at each of ``--sizes``, a run with the default stopping rule and
scales, whose time the estimate bounds from above. Prints one table row per run, with the
load average: wall seconds depend on what else the machine is doing. The CPU-time error
compares the run's CPU seconds with the estimate converted at the share of a core the probe
got: the model's error without the load's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def one(size: int, steps: int, device: str, weights: str, default: bool) -> dict:
    import torch

    import nst_course as nst
    from nst_course.engine.estimate import estimate_settings

    net = nst.load_vgg19(weights=weights, device=device, progress=False)
    photo, style = nst.load_image("town"), nst.load_image("swirls")
    rule = {} if default else {"stop_tolerance": 0.0, "scales": (size,)}
    settings = nst.Settings(size=size, steps=steps, **rule)
    if net.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    wall, cpu = time.perf_counter(), time.process_time()
    estimate = estimate_settings(net, settings, shape=photo.shape)
    probe_share = (time.process_time() - cpu) / (time.perf_counter() - wall)  # of one core, while probing
    cpu = time.process_time()
    result = nst.transfer(photo, style, settings=settings, net=net, progress=False)
    run_cpu = time.process_time() - cpu
    if net.device.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "size": size,
        "steps": result.steps_done,
        "stopped": result.stopped,
        "scales": list(estimate.scales),
        "estimated_s": estimate.seconds,
        "actual_s": result.seconds,
        "estimated_cpu_s": estimate.seconds * probe_share,
        "actual_cpu_s": run_cpu,
        "estimated_peak_mib": estimate.peak_mib,
        "actual_peak_mib": peak / 2**20,
        "estimated_run_mib": estimate.run_bytes / 2**20,
    }


def run_child(size: int, steps: int, args: argparse.Namespace, default: bool = False) -> dict:
    command = [sys.executable, __file__, "--one", str(size), "--steps", str(steps)]
    command += ["--device", args.device, "--weights", args.weights] + (["--default-run"] if default else [])
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(record: dict, load: tuple[float, float, float]) -> str:
    time_error = 100 * (record["estimated_s"] / record["actual_s"] - 1)
    memory_error = 100 * (record["estimated_peak_mib"] / record["actual_peak_mib"] - 1)
    cpu_error = 100 * (record["estimated_cpu_s"] / record["actual_cpu_s"] - 1)
    return (
        f"| {record['size']} | {' > '.join(map(str, record['scales']))} | {record['steps']} ({record['stopped']}) | "
        f"{record['estimated_s']:.1f} | {record['actual_s']:.1f} | {time_error:+.0f}% | {cpu_error:+.0f}% | "
        f"{record['estimated_peak_mib']:.0f} | {record['actual_peak_mib']:.0f} | {memory_error:+.0f}% | "
        f"{load[0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--memory-sizes", default="512")
    parser.add_argument("--memory-steps", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--default-run", action="store_true")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.device, args.weights, args.default_run)))
        return
    print(f"device {args.device}; weights {args.weights}; {os.cpu_count()} cores; load average {os.getloadavg()}")
    print(
        "| size | scales | steps | estimated s | actual s | time error | CPU-time error | est. peak MiB | peak MiB "
        "| mem. error | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    plan = [(int(s), args.steps, False) for s in args.sizes.split(",") if s]
    plan += [(int(s), args.memory_steps, False) for s in args.memory_sizes.split(",") if s]
    if args.default_run:
        plan += [(int(s), 300, True) for s in args.sizes.split(",") if s]
    for size, steps, default in plan:
        record = run_child(size, steps, args, default)
        print(row(record, os.getloadavg()), flush=True)


if __name__ == "__main__":
    main()
