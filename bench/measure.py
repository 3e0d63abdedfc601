"""Shared helpers for the side-by-side benchmarks: run a command, measure wall time, CPU time,
the command's own peak RSS and (with perf) the kernel's share of its CPU.

Peak memory comes from GNU time's `%M` (Debian `time`, /usr/bin/time): a child forked straight
from Python starts with Python's own high-water mark, so `ru_maxrss` from `wait4` reports at
least the parent's RSS (about 15 MiB) for any program smaller than that. GNU time is a small
process, so its child's peak is the program's own.

The kernel's share comes from `perf record -e cpu-clock` (Debian `linux-perf`): samples taken
by a timer while the program runs, each in user or kernel mode. On a VM without hardware
counters, `perf stat -e task-clock:u,task-clock:k` reports the same total twice (software
events ignore the `:u`/`:k` modifiers), so sampling is the honest split here.

Counts that do not depend on the machine's load (`instructions:u` needs a hardware PMU, which
such a VM lacks, so): user-space instructions from Valgrind's callgrind (`Collected : N`, every
instruction the program ran outside the kernel, the same on an idle or a saturated machine),
and system calls from the `raw_syscalls:sys_enter` tracepoint (`perf stat`, a software event).
Both are taken from two runs of different lengths and differenced, so start-up and exit costs
cancel and what is left is the cost per request.
"""
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time

GNU_TIME = "/usr/bin/time"
PERF_HZ = 499


def parent_peak_kib():
    """This Python process's own peak RSS (what a child forked from it starts at)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_once(cmd, cwd=None, stdout=subprocess.DEVNULL):
    """Runs cmd once; returns (wall seconds, user+sys CPU seconds, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def peak_rss_kib(cmd, cwd=None):
    """Peak RSS of one run of cmd, its own (GNU time's %M); None without /usr/bin/time."""
    if not os.path.exists(GNU_TIME):
        return None
    with tempfile.NamedTemporaryFile(mode="r") as out:
        subprocess.run([GNU_TIME, "-o", out.name, "-f", "%M"] + cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return int(out.read().strip().splitlines()[-1])
        except (IndexError, ValueError):
            return None


def bench(cmd, runs, cwd=None):
    """Runs cmd once to warm up, then `runs` times; medians of wall and CPU time, and the peak
    RSS of one more run under GNU time."""
    run_once(cmd, cwd)
    walls, cpu = [], []
    for _ in range(runs):
        w, c, rc = run_once(cmd, cwd)
        if rc != 0:
            raise SystemExit(f"command failed with exit code {rc}: {' '.join(cmd)}")
        walls.append(w)
        cpu.append(c)
    return {
        "wall_median": statistics.median(walls),
        "wall_min": min(walls),
        "rss_max_kib": peak_rss_kib(cmd, cwd),
        "cpu_median": statistics.median(cpu),
    }


def kernel_share(perf_data):
    """Fraction of the cpu-clock samples in perf_data taken in kernel mode (None if no
    samples), leaving out GNU time's own process."""
    out = subprocess.run(["perf", "script", "-i", perf_data, "-F", "comm,ip"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    kernel = user = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] == "time":
            continue
        try:
            ip = int(parts[-1], 16)
        except ValueError:
            continue
        if ip >= 0xFFFF800000000000:
            kernel += 1
        else:
            user += 1
    return kernel / (kernel + user) if kernel + user else None


def run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, perf=False, env=None,
                 on_start=None):
    """Runs cmd under GNU time (and perf record when `perf`). Returns a dict: wall, user, sys
    and cpu seconds, peak_kib (the command's own), kernel_share (perf samples in kernel mode,
    None without perf), rc. `on_start(pid of GNU time)` is called right after the start."""
    tfile = tempfile.NamedTemporaryFile(mode="r", suffix=".time")
    pfile = tempfile.NamedTemporaryFile(suffix=".perf")
    full = [GNU_TIME, "-o", tfile.name, "-f", "%e %U %S %M"] + cmd
    if perf:
        full = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(PERF_HZ), "--no-buildid",
                "--no-buildid-cache", "-o", pfile.name, "--"] + full
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdout=stdout, stderr=stderr, env=env)
    if on_start:
        on_start(proc.pid)
    rc = proc.wait()
    wall = time.perf_counter() - start
    fields = tfile.read().strip().splitlines()
    tfile.close()
    r = {"wall": wall, "rc": rc, "user": None, "sys": None, "cpu": None, "peak_kib": None,
         "kernel_share": None}
    # GNU time prints "Command exited with non-zero status N" first when the command fails.
    last = fields[-1].split() if fields else []
    if len(last) == 4:
        _, u, s, m = last
        r.update(user=float(u), sys=float(s), cpu=float(u) + float(s), peak_kib=int(m))
    if perf and rc == 0:
        r["kernel_share"] = kernel_share(pfile.name)
    pfile.close()
    return r


def callgrind_instructions(cmd, env=None, stdout=subprocess.DEVNULL, profile_out=None, prefix=()):
    """User-space instructions cmd executed (Valgrind's callgrind, all threads), and its exit
    code; the callgrind profile is kept in `profile_out` when given. `prefix` (such as
    taskset) runs Valgrind: a program Valgrind runs that execs another is not followed."""
    out = profile_out or tempfile.NamedTemporaryFile(suffix=".callgrind", delete=False).name
    full = list(prefix) + ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd
    proc = subprocess.run(full, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env)
    if not profile_out:
        os.unlink(out)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    return (int(m.group(1)) if m else None), proc.returncode


def syscall_count(cmd, env=None, stdout=subprocess.DEVNULL):
    """System calls cmd made (all threads; the `raw_syscalls:sys_enter` tracepoint), and its
    exit code."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".stat") as f:
        full = ["perf", "stat", "-x", ",", "-o", f.name, "-e", "raw_syscalls:sys_enter", "--"] + cmd
        rc = subprocess.run(full, stdout=stdout, stderr=subprocess.DEVNULL, env=env).returncode
        for line in f.read().splitlines():
            parts = line.split(",")
            if len(parts) > 2 and "raw_syscalls:sys_enter" in line:
                try:
                    return int(parts[0]), rc
                except ValueError:
                    return None, rc
    return None, rc
