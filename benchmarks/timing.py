"""Wall-clock timing (median of repeats, warm-up excluded) and peak-memory measurement.

Timing: ``time.perf_counter`` (wall) and ``time.process_time`` (CPU) around each call, with
``torch.cuda.synchronize()`` before and after on CUDA. Memory: on CUDA, ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus the
memory allocated before the call (model, batch, directions), i.e. the method's extra peak; on CPU a child
process per method (see ``curvature_speed.py --probe``) resets its peak-RSS mark (``/proc/self/clear_refs``),
runs the method once and reports VmHWM (the peak resident set during the call) minus VmRSS before it;
where the reset is not allowed it falls back to the growth of ``resource.getrusage(...).ru_maxrss``.
The resident set depends on the allocator's history (freed blocks kept or returned), so the CPU child also
reports the peak *tensor* memory of the call (:func:`tensor_peak_bytes`: the CPU allocator's running total in
the profiler's allocation events), the same quantity as ``max_memory_allocated`` on CUDA and independent of
that history.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import torch

__all__ = [
    "sync",
    "time_call",
    "repeat_mean",
    "summary",
    "cuda_peak_bytes",
    "machine_info",
    "rss_peak_bytes",
    "reset_rss_peak",
    "tensor_peak_bytes",
]


def sync(device: torch.device) -> None:
    """Wait for the device's queued kernels (CUDA); a no-op on the CPU, so timings bracket finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result) of one call.

    The CPU time (``time.process_time``, all threads) is the less load-sensitive figure on a shared CPU
    with ``--threads 1``; with several threads it also counts OpenMP spin-waiting, and on CUDA it is
    meaningless (host time only).
    """
    sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, time.process_time() - c0, out


def repeat_mean(fn: Callable[[], object], n: int) -> object:
    """Call ``fn`` ``n`` times back to back (the caller divides the time by ``n``); returns the last result."""
    out = None
    for _ in range(n):
        out = fn()
    return out


def summary(times: list[float]) -> dict:
    """Median, min, max and relative spread ((max − min) / median) of a list of seconds."""
    med = statistics.median(times)
    return {
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "spread": (max(times) - min(times)) / med if med > 0 else 0.0,
        "n": len(times),
        "all_s": list(times),
    }


def cuda_peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Extra peak CUDA memory of one call over what was allocated before it."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    out = fn()
    torch.cuda.synchronize(device)
    del out
    return int(torch.cuda.max_memory_allocated(device) - base)


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_peak_bytes() -> int:
    """This process's peak resident set size so far: VmHWM (Linux), else ``ru_maxrss`` (KiB on Linux)."""
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm * 1024
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def reset_rss_peak() -> tuple[int, str]:
    """Reset the peak-RSS mark if the kernel allows (``5 > /proc/self/clear_refs``, Linux ≥ 4.0).

    Returns (current RSS in bytes, how the peak is measured). Without the reset the peak is the
    process's high-water mark since start (``ru_maxrss``), so a method's growth may be understated.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        rss = _status_kib("VmRSS")
        if rss is not None:
            return rss * 1024, "VmHWM after resetting it with /proc/self/clear_refs, minus VmRSS before the call"
    except OSError:
        pass
    return rss_peak_bytes(), "ru_maxrss after the call minus ru_maxrss before it (high-water mark, not reset)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_version() -> dict:
    """Git commit of the repository and whether the engine's files differ from it (the benchmarked code)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return r.stdout.strip() if r.returncode == 0 else ""

    engine = [
        "empirics/curvature",
        "empirics/measurement",
        "empirics/quantities",
        "empirics/layers.py",
        "empirics/layerkinds.py",
    ]
    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "engine_commit": git("log", "-1", "--format=%h", "--", *engine) or "unknown",
        "engine_uncommitted_changes": bool(git("status", "--porcelain", "--", *engine)),
    }


def machine_info(device: torch.device) -> dict:
    """The machine a timing was taken on: CPU model and core count, torch/Python versions, torch threads, host, device,
    load averages and (CUDA) the GPU's name."""
    import os

    info = {
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "hostname": platform.node(),
        "device": str(device),
    }
    try:
        info["load_avg_1_5_15"] = list(os.getloadavg())
    except OSError:
        pass
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        info["tf32_cudnn"] = torch.backends.cudnn.allow_tf32
    else:
        info["device_name"] = info["cpu"]
    return info


def tensor_peak_bytes(fn: Callable[[], object]) -> int | None:
    """Peak tensor bytes allocated by one call of ``fn`` (CPU) above the total before its first allocation.

    Reads the ``total_allocated`` field of the allocation events of ``torch.profiler`` with
    ``profile_memory=True`` (an event tree of the profiler's results, not a stable public API): ``None`` when
    this torch does not provide it or the call allocated nothing."""
    try:
        from torch._C._profiler import _EventType
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
        stack = list(prof.profiler.kineto_results.experimental_event_tree())  # type: ignore[union-attr]
    except (ImportError, AttributeError, RuntimeError):
        return None
    peak, first = None, None
    while stack:
        e = stack.pop()
        stack.extend(e.children)
        if e.tag != _EventType.Allocation:
            continue
        f = e.extra_fields
        peak = f.total_allocated if peak is None else max(peak, f.total_allocated)
        if first is None or e.start_time_ns < first[0]:
            first = (e.start_time_ns, f.total_allocated - f.alloc_size)
    return None if peak is None or first is None else int(peak - first[1])
