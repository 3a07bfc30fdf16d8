"""The glibc malloc tuning every stage applies (domainllm.runtime)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from domainllm.runtime import keep_freed_memory

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)

# Allocate, touch and free 200 MB through libc; report resident memory before and after free.
PROBE = """
import ctypes, ctypes.util, json, os, sys
from domainllm.runtime import keep_freed_memory
tuned = keep_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
n = 200 << 20
p = libc.malloc(n)
ctypes.memset(p, 1, n)
held = rss()
libc.free(p)
print(json.dumps({"tuned": tuned, "held": held, "after_free": rss()}))
"""


def probe(mode: str) -> dict:
    env = {**os.environ, "DOMAINLLM_MALLOC": mode}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@glibc
def test_tuned_process_keeps_freed_memory_default_returns_it() -> None:
    tuned, default = probe("tuned"), probe("default")
    assert tuned["tuned"] is True and default["tuned"] is False
    # glibc's default unmaps a 200 MB block on free; tuned keeps it for the next step's reuse.
    assert default["held"] - default["after_free"] > 150 << 20
    assert tuned["held"] - tuned["after_free"] < 10 << 20


def test_opt_out_leaves_malloc_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMAINLLM_MALLOC", "default")
    assert keep_freed_memory() is False
