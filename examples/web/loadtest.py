"""A bounded loopback load test of app.py under uvicorn with 1, 2 and 4 workers.

    python examples/web/loadtest.py [--workers 1 2 4] [--seconds 10] [--connections 8] [--quick]

For each worker count it starts the app with N uvicorn workers (serve.py) on a free local
port, checks that
``GET /`` returns exactly the HTML Node renders for the same props, then keeps
``--connections`` keep-alive connections busy for ``--seconds`` and reports requests per
second, p50/p99 latency and errors (any non-200 answer or failed connection). The load
generator runs in this process, on the same machine: on a small machine it competes with
the server for cores, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = (HERE.parents[1] / "tests" / "fixtures" / "expected" / "react.html").read_bytes()


@dataclass
class Result:
    workers: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 GET: (status, body)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def wait_until_up(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, _ = await get(reader, writer, "/health")
            writer.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("uvicorn did not come up")


async def load(port: int, seconds: float, connections: int) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                start = time.perf_counter()
                try:
                    status, _ = await get(reader, writer, "/")
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                if status == 200:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return len(latencies), errors, latencies


async def run_one(workers: int, seconds: float, connections: int) -> Result:
    port = free_port()
    command = [sys.executable, str(HERE / "serve.py"), "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env={**os.environ, "V8RS_VMS": "2"})
    try:
        await wait_until_up(port, server)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, body = await get(reader, writer, "/")
        writer.close()
        if status != 200 or body != EXPECTED:
            raise AssertionError(f"GET / gave {status} and {len(body)} bytes, not Node's HTML")
        await load(port, min(1.0, seconds / 5), connections)  # warm up every worker and VM
        start = time.monotonic()
        requests, errors, latencies = await load(port, seconds, connections)
        return Result(workers, requests, errors, time.monotonic() - start, latencies)
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1 s per worker count (a smoke test)")
    options = parser.parse_args(argv)
    seconds = 1.0 if options.quick else options.seconds
    print(f"{os.cpu_count()} cores, {options.connections} connections, {seconds:g} s per row, 2 VMs/worker")
    print("| uvicorn workers | requests/s | p50 | p99 | requests | errors |")
    print("|---:|---:|---:|---:|---:|---:|")
    failed = False
    for workers in options.workers:
        r = asyncio.run(run_one(workers, seconds, options.connections))
        print(
            f"| {workers} | {r.rate:,.0f} | {r.percentile(0.5):.1f} ms | {r.percentile(0.99):.1f} ms"
            f" | {r.requests:,} | {r.errors} |",
            flush=True,
        )
        failed |= r.errors > 0 or r.requests == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
