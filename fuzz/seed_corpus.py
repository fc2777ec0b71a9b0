"""Writes the seed inputs of the c_abi target to corpus/c_abi/: each bad-input script of
tests/corpus (up to 255 bytes) run, evaluated and called on a fresh VM and context, and a
few call sequences over two threads. Run: python fuzz/seed_corpus.py"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus" / "c_abi"
NEW_VM, FREE_VM, NEW_CONTEXT, FREE_CONTEXT, RUN, EVAL, CALL, IDLE, LOAD = 0, 1, 2, 3, 4, 6, 7, 8, 9


def op(code: int, slot: int = 0, thread: int = 0) -> bytes:
    return bytes([(code << 1) | thread, slot])


def string(data: bytes) -> bytes:
    data = data[:255]
    return bytes([len(data)]) + data


def setup(slot: int = 0, thread: int = 0, features: int = 204) -> bytes:
    return op(NEW_VM, slot, thread) + op(NEW_CONTEXT, slot, thread) + bytes([features])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = []
    for script in sorted((HERE.parent / "tests" / "corpus").glob("*.js")):
        source = script.read_bytes()
        seeds.append(setup() + op(RUN) + string(source))
        seeds.append(setup() + op(EVAL) + string(source) + b"\x03")
    seeds += [
        setup() + op(CALL) + string(b"JSON.stringify") + string(b"a\x01\x00\x00\x00l\x02\x00\x00\x00hi"),
        setup() + op(RUN) + string(b"setTimeout(() => { throw 1 }, 1); setInterval(() => 0, 1)") + op(IDLE),
        setup(0, 0) + op(RUN, 0, 0) + string(b"while (true) {}") + op(LOAD, 0, 1) + string(b"/"),
        setup(1, 1) + op(FREE_VM, 1, 0) + op(RUN, 1, 1) + string(b"1") + op(FREE_CONTEXT, 1, 1),
        setup() + op(EVAL) + string(b"new Promise(r => setTimeout(r, 5, new URL('http://x/')))") + b"\x01",
    ]
    for seed in seeds:
        (OUT / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
