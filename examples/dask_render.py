"""Server rendering fanned out over Dask distributed: one platform and VM pool per worker.

    pip install "dask[distributed]"
    python examples/dask_render.py [--pages 200] [--workers 2] [--kill] [--scheduler ADDRESS]

A worker plugin sets V8 up in each worker process (and in any worker that joins or is
restarted later) with a VMPool whose VMs have the React bundle loaded; each task renders
one page with one JavaScript call. Without ``--scheduler`` a LocalCluster of worker
processes runs on this machine; with it, the same code runs on a real cluster (the bundle
path must exist on the workers). ``--kill`` kills a worker process mid-run: its nanny
restarts it, the plugin sets it up again, and Dask runs its tasks again elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster, Worker, WorkerPlugin, as_completed, get_worker

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
BUNDLE = FIXTURES / "react.js"
PROPS: dict[str, Any] = json.loads((FIXTURES / "expected" / "props.json").read_text(encoding="utf-8"))


class V8Renderers(WorkerPlugin):
    """Gives each worker process V8 and a pool of ``vms`` VMs with ``bundle`` loaded."""

    name = "v8rs"

    def __init__(self, bundle: str, vms: int = 1) -> None:
        self.bundle = bundle
        self.vms = vms
        self.pool: Any = None

    def setup(self, worker: Worker) -> None:
        from v8cffi.platform import platform
        from v8cffi.pool import VMPool

        if not platform.is_alive():
            platform.set_up()
        self.pool = VMPool(self.vms, libs=[self.bundle])

    def teardown(self, worker: Worker) -> None:
        if self.pool is not None:
            self.pool.close()


def render(page: int) -> tuple[int, str, int]:
    """One task: page ``page`` rendered by this worker's pool; (page, html, worker pid)."""
    plugin = get_worker().plugins[V8Renderers.name]
    assert isinstance(plugin, V8Renderers)
    props = dict(PROPS, title=f"{PROPS['title']} #{page}")
    time.sleep(0.01)  # stands in for the rest of a real task (fetching data, …)
    return page, plugin.pool.call("ReactSSR.renderToString", props), os.getpid()


def run(client: Client, pages: int, kill: bool) -> dict[int, str]:
    client.register_plugin(V8Renderers(str(BUNDLE), vms=1))
    futures = client.map(render, range(pages), pure=False)
    results: dict[int, str] = {}
    killed = None
    for future in as_completed(futures):
        page, html, pid = future.result()
        results[page] = html
        if kill and killed is None and len(results) >= pages // 4:
            killed = pid
            os.kill(pid, signal.SIGKILL)  # a worker dies mid-run
            print(f"killed worker process {pid} after {len(results)} pages", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill", action="store_true", help="kill a worker process mid-run")
    parser.add_argument("--scheduler", help="address of a running scheduler (default: a LocalCluster)")
    options = parser.parse_args(argv)
    started = time.monotonic()
    if options.scheduler:
        client = Client(options.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=options.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        results = run(client, options.pages, options.kill)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    wrong = [page for page, html in results.items() if f"#{page}</title>" not in html]
    took = time.monotonic() - started
    print(f"rendered {len(results)} of {options.pages} pages in {took:.1f} s; wrong: {len(wrong)}")
    return 0 if len(results) == options.pages and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
