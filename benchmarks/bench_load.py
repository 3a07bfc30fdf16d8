"""Load test of the API on loopback: `python benchmarks/bench_load.py [--model DIR] [-c 8 -t 10]`.

The server (one engine, loaded once) runs in this process; a separate client process keeps
``--clients`` requests in flight for ``--seconds`` (or until ``--max-requests``), so the
load generator does not compete with the server for the GIL. It runs twice: with dynamic
batching (``--max-batch-size``) and without (batch size 1), and prints p50/p95/p99 latency,
throughput and errors for each plus the batched/unbatched ratios. Without ``--model`` it uses
the tiny random model from ``domainllm.tiny`` (measures the serving path, not model quality).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

DESCRIPTIONS = [
    "organic coffee shop in downtown Portland with vegan pastries",
    "mobile app that helps dog owners find walkers nearby",
    "family-run bakery specialising in sourdough and rye",
    "boutique yoga studio offering sunrise classes by the beach",
    "consulting firm helping small farms sell online",
    "handmade leather wallets and belts shipped worldwide",
    "tutoring service for high-school maths and physics",
    "electric bike repair shop in Amsterdam",
]


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of a non-empty list."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


async def _load(
    url: str, clients: int, seconds: float, max_requests: int, n: int, drain: float
) -> dict:
    import httpx

    lat: list[float] = []
    codes: Counter[str] = Counter()
    sent = 0
    stop_at = time.monotonic() + seconds

    async def client(cid: int, http: httpx.AsyncClient) -> None:
        nonlocal sent
        i = cid
        while time.monotonic() < stop_at and sent < max_requests:
            sent += 1
            body = {"description": DESCRIPTIONS[i % len(DESCRIPTIONS)], "n": n}
            i += clients
            t0 = time.perf_counter()
            try:
                r = await http.post(url + "/v1/suggest", json=body)
                codes[str(r.status_code)] += 1
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t0)
            except Exception as exc:  # counted by type, never fatal to the load test
                codes[type(exc).__name__] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    t0 = time.monotonic()
    async with httpx.AsyncClient(timeout=seconds + drain, limits=limits) as http:
        # No new request after `seconds`; in-flight ones get `drain` more, then are cancelled.
        tasks = [asyncio.create_task(client(c, http)) for c in range(clients)]
        _, pending = await asyncio.wait(tasks, timeout=seconds + drain)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    wall = time.monotonic() - t0
    ok = len(lat)
    return {
        "requests": sent,
        "unfinished": sent - sum(codes.values()),
        "ok": ok,
        "errors": sent - ok,  # non-200 answers, transport errors and unfinished
        "status": dict(codes),
        "wall_s": round(wall, 2),
        "throughput_rps": round(ok / wall, 3),
        "p50_s": round(percentile(lat, 50), 3) if lat else None,
        "p95_s": round(percentile(lat, 95), 3) if lat else None,
        "p99_s": round(percentile(lat, 99), 3) if lat else None,
    }


def run_mode(engine: Any, args: argparse.Namespace, batch: int) -> dict:
    """Serve ``engine`` with batch size ``batch``; drive it from a client subprocess."""
    import httpx

    from domainllm.serve.app import ServeSettings, create_app
    from domainllm.serve.runner import ServerThread

    settings = ServeSettings(
        port=0,
        max_batch_size=batch,
        max_wait_ms=args.max_wait_ms,
        max_queue=max(64, 2 * args.clients),
        timeout_s=min(600, args.seconds + args.drain),
    )
    with ServerThread(create_app(engine, settings)) as url:
        ready = httpx.get(url + "/readyz", timeout=30)
        ready.raise_for_status()
        cmd = [sys.executable, __file__, "--client", url, "-c", str(args.clients)]
        cmd += ["-t", str(args.seconds), "--max-requests", str(args.max_requests)]
        cmd += ["--n", str(args.n), "--drain", str(args.drain)]
        limit = args.seconds + args.drain + 120
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=limit)
    return {"max_batch_size": batch, **json.loads(out.stdout)}


def load_engine(args: argparse.Namespace, tmp: Path) -> Any:
    import domainllm.guard
    from domainllm.engine import Engine, EngineSettings, evaluated_settings
    from domainllm.tiny import make_tiny_model

    if args.guard is None and not domainllm.guard.DEFAULT_POLICY.is_file():
        # No policy document yet: a one-rule policy keeps the guard on (the server needs one).
        policy = tmp / "SAFETY_POLICY.md"
        policy.write_text("```yaml\ncategory: gambling\nblock: [casino]\n```\n")
        domainllm.guard.DEFAULT_POLICY = policy
        print(f"note: {domainllm.guard.DEFAULT_POLICY} is a stand-in policy", file=sys.stderr)
    model = args.model or make_tiny_model(tmp / "tiny")
    extra = {"max_label": args.max_label} if args.max_label else {}
    extra.update(threads=args.threads, batch_size=args.max_batch_size)
    # A real model is served as `domainllm serve` serves it: the settings predict evaluated.
    settings = evaluated_settings(**extra) if args.model else EngineSettings(**extra)
    return Engine.load(model, args.guard, settings), str(args.model or "tiny (random weights)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model folder (default: a tiny random model)")
    ap.add_argument("--guard", type=Path, help="guard folder (default: the policy rules only)")
    ap.add_argument("-c", "--clients", type=int, default=8, help="concurrent clients")
    ap.add_argument("-t", "--seconds", type=float, default=10.0, help="seconds per mode")
    ap.add_argument("--max-requests", type=int, default=400, help="request cap per mode")
    ap.add_argument("--drain", type=float, default=60.0, help="grace for in-flight requests")
    ap.add_argument("--max-label", type=int, default=0, help="engine max_label (0 = default)")
    ap.add_argument("--max-batch-size", type=int, default=8, help="batch size of the batched run")
    ap.add_argument("--max-wait-ms", type=float, default=10.0, help="batching wait bound")
    ap.add_argument("--n", type=int, default=5, help="suggestions per request")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: clients share the cores)"
    )
    ap.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--client", help=argparse.SUPPRESS)  # internal: run as the load generator
    args = ap.parse_args()
    if args.client:
        a = args
        res = asyncio.run(_load(a.client, a.clients, a.seconds, a.max_requests, a.n, a.drain))
        print(json.dumps(res))
        return

    with tempfile.TemporaryDirectory() as tmp:
        engine, name = load_engine(args, Path(tmp))
        # Warm-up outside the timed runs: the decoding constraints for this request shape
        # compile on first use (seconds on a real vocabulary) and are cached by the engine.
        from domainllm.contract import Request

        engine.suggest_batch([Request(description=DESCRIPTIONS[0], n=args.n)])
        runs = [run_mode(engine, args, args.max_batch_size), run_mode(engine, args, 1)]
    batched, single = runs
    ratio = {
        "throughput": round(batched["throughput_rps"] / max(single["throughput_rps"], 1e-9), 2),
        "p50": round((batched["p50_s"] or 0) / max(single["p50_s"] or 1e-9, 1e-9), 2),
    }
    result = {
        "model": name,
        "clients": args.clients,
        "seconds": args.seconds,
        "runs": runs,
        "batched_over_unbatched": ratio,
    }
    head = f"{'mode':<12}{'ok':>6}{'err':>5}{'req/s':>8}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}"
    print(f"model: {name}; {args.clients} clients x {args.seconds:g} s per mode")
    print(head)
    for r in runs:
        mode = f"batch<={r['max_batch_size']}"
        print(
            f"{mode:<12}{r['ok']:>6}{r['errors']:>5}{r['throughput_rps']:>8.2f}"
            f"{r['p50_s'] or 0:>8.2f}{r['p95_s'] or 0:>8.2f}{r['p99_s'] or 0:>8.2f}"
        )
    print(f"batched / unbatched: throughput x{ratio['throughput']}, p50 latency x{ratio['p50']}")
    if args.out:
        from domainllm.io import write_json

        write_json(args.out, result)


if __name__ == "__main__":
    main()
