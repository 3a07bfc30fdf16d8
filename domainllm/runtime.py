"""Process-level tuning applied when a stage starts (``params.run_stage``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# glibc mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30
# Older glibc refuses an mmap threshold above 32 MiB (HEAP_MAX_SIZE / 2 on 64-bit).
FALLBACK_MMAP_BYTES = 32 << 20


def keep_freed_memory() -> bool:
    """Keep freed blocks up to 1 GiB in the heap instead of returning them to the OS.

    glibc serves every allocation above a dynamic threshold with a fresh mmap and unmaps it on
    free, so each CPU training step re-faults its activation and gradient buffers page by page:
    a quarter of the step was kernel time here, and a step took 1.24x as long
    (``benchmarks/bench_malloc.py``). Results are unchanged; peak memory is kept, not returned.
    Returns whether the setting took (False off glibc or with ``DOMAINLLM_MALLOC=default``).
    """
    if os.environ.get("DOMAINLLM_MALLOC", "") == "default":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)
    )
