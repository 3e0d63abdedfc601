"""Shared helpers for the side-by-side benchmarks: run a command, measure wall time and peak RSS."""
import os
import statistics
import subprocess
import time


def run_once(cmd, cwd=None, stdout=subprocess.DEVNULL):
    """Runs cmd once; returns (wall seconds, peak RSS in KiB, user+sys CPU seconds, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def bench(cmd, runs, cwd=None):
    """Runs cmd once to warm up, then `runs` times; returns a dict of medians and minima."""
    run_once(cmd, cwd)
    walls, rss, cpu = [], [], []
    for _ in range(runs):
        w, r, c, rc = run_once(cmd, cwd)
        if rc != 0:
            raise SystemExit(f"command failed with exit code {rc}: {' '.join(cmd)}")
        walls.append(w)
        rss.append(r)
        cpu.append(c)
    return {
        "wall_median": statistics.median(walls),
        "wall_min": min(walls),
        "rss_max_kib": max(rss),
        "cpu_median": statistics.median(cpu),
    }
