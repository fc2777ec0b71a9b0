"""Runs app.py under uvicorn with N worker processes sharing one listening socket.

    python examples/web/serve.py [--workers 2] [--port 8000] [--host 127.0.0.1]

This is ``uvicorn --workers N``, with one difference: the listening socket is made with
``IPPROTO_TCP``. uvicorn makes it with protocol 0, so asyncio does not set TCP_NODELAY on
the connections its workers accept; each response then leaves in two segments (headers,
body) and the body waits for the client's delayed ACK — about 40 ms per keep-alive request
(measured: p50 44 ms instead of 5 ms). A single worker is not affected.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # app.py (workers inherit sys.path)
    config = uvicorn.Config("app:app", workers=options.workers, log_level="warning", access_log=False)
    sock = listening_socket(options.host, options.port)
    if options.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
