"""Training cost: wall time and peak memory of `moderation train` on the shipped labels.

Runs `moderation train --labels labels --out <temporary directory>` in a subprocess (with its
default cross-validation, as `make model` does) and prints its wall time and its peak resident
memory (`ru_maxrss` of the waited-for child, the largest process's peak), against the targets
of 60 s and 2 GB, after the command's log lines, each stamped with the wall time at which it was
printed and the peak memory so far (the stage times), and then the card's held-out figures.
Prints figures; asserts nothing.

    .venv/bin/python tests/bench/train.py
    .venv/bin/python tests/bench/train.py --no-cv       # the model alone, without the card's metrics
    .venv/bin/python tests/bench/train.py --out /tmp/m  # keeps the model there (to compare two trainings)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 60
TARGET_BYTES = 2 * 1024**3


def _memory(pid: int) -> str:
    """", peak so far x.xx GB" of process `pid` (Linux's /proc; empty elsewhere or once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
    peak = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    return f", peak so far {int(peak[0]) / 1024**2:.2f} GB" if peak else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default=str(ROOT / "labels"), help="labels directory (default: labels)")
    parser.add_argument("--no-cv", action="store_true", help="pass --no-cv to moderation train")
    parser.add_argument("--out", help="models directory to train into and keep (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args()

    moderation = str(Path(sys.executable).with_name("moderation"))
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        tmp = args.out or scratch
        command = [moderation, "train", "--labels", args.labels, "--out", tmp] + (["--no-cv"] if args.no_cv else [])
        print("$ " + " ".join(command), flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        log = []
        table = tempfile.TemporaryFile("w+")  # its stdout: the card's metrics, printed after the figures
        with table, subprocess.Popen(command, cwd=ROOT, stdout=table, stderr=subprocess.PIPE, text=True) as run:
            timer = threading.Timer(args.timeout, run.kill)
            timer.start()
            try:
                for line in run.stderr:  # the command's log: one line per stage, stamped as it arrives
                    log.append(line.rstrip("\n"))
                    print(f"  [{time.perf_counter() - started:6.1f} s{_memory(run.pid)}] {log[-1]}", flush=True)
                run.wait()
            finally:
                timer.cancel()
            table.seek(0)
            metrics = table.read()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run.returncode != 0:
            sys.exit(f"moderation train failed ({run.returncode}):\n" + "\n".join(log)[-3000:])
        version = os.readlink(Path(tmp) / "current")
        card = json.loads((Path(tmp) / version / "card.json").read_text())
    peak = after.ru_maxrss * 1024  # KiB on Linux
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\ntrained {version} on {args.labels}{' (no CV)' if args.no_cv else ''} with {os.cpu_count()} cores")
    print(f"  wall time    {wall:8.1f} s     target <= {TARGET_SECONDS} s: {'met' if wall <= TARGET_SECONDS else 'missed'}")
    print(f"  peak memory  {peak / 1024**3:8.2f} GB    target <= {TARGET_BYTES / 1024**3:.0f} GB: "
          f"{'met' if peak <= TARGET_BYTES else 'missed'}")
    print(f"  CPU time     {cpu:8.1f} s     ({cpu / wall:.1f} cores busy on average)")
    held_out = (card.get("cross_validation") or {}).get("metrics") or {}
    if held_out:
        print("\nheld-out figures of the card (4 decimals), thresholds at reject / review:")
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.4f}"

        for category, m in held_out.items():
            m = m["all"]
            print(f"  {category:16s} ROC-AUC {fmt(m['roc_auc'])}  PR-AUC {fmt(m['pr_auc'])}  "
                  f"thresholds {fmt(m['at_reject']['threshold'])} / {fmt(m['at_review']['threshold'])}")
    if metrics.strip():
        print("\n" + metrics.rstrip())


if __name__ == "__main__":
    main()
