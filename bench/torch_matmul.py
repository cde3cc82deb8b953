#!/usr/bin/env python3
"""The peer row of bench/forward.ts: float32 matmul GFLOP/s in PyTorch (Debian's python3-torch
with OpenBLAS), on one thread like the wasm backend and on every core. Prints one JSON line."""
import json
import os
import time

import torch


def gflops(n, threads):
    torch.set_num_threads(threads)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    a @ b  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < 1 and len(times) < 50):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    times.sort()
    return 2 * n**3 / times[len(times) // 2] / 1e9


cores = os.cpu_count() or 1
print(json.dumps({
    "torch": torch.__version__,
    "cores": cores,
    "oneThread": {n: gflops(n, 1) for n in (256, 512, 1024)},
    "allThreads": {n: gflops(n, cores) for n in (256, 512, 1024)},
}))
