"""Reading a JavaScript ``ReadableStream`` chunk by chunk from Python: a hidden global
keeps each stream's reader between calls; each chunk is one awaiting call, which runs
the event loop until the stream has a chunk (the rest of the page renders meanwhile).
"""

from __future__ import annotations

#: Installs ``__v8cffi_streams`` (not enumerable) unless it exists.
SETUP_JS = r"""
if (!globalThis.__v8cffi_streams) Object.defineProperty(globalThis, '__v8cffi_streams', { value: {
  last: 0,
  readers: new Map(),
  async open(source) {
    const stream = await source;
    if (!stream || typeof stream.getReader !== 'function') {
      throw new TypeError('iter_stream: the expression is not a ReadableStream (or a promise of one)');
    }
    const id = ++this.last;
    this.readers.set(id, stream.getReader());
    return id;
  },
  async read(id) {
    const reader = this.readers.get(id);
    const { done, value } = await reader.read();
    if (done) { this.readers.delete(id); return null; }
    if (typeof value === 'string' || value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const kind = Object.prototype.toString.call(value);
    throw new TypeError('iter_stream: a chunk is neither a string nor bytes: ' + kind);
  },
  async cancel(id) {
    const reader = this.readers.get(id);
    this.readers.delete(id);
    if (reader) await reader.cancel();
  },
}});
"""


def open_expression(expression: str) -> str:
    """The script that opens the stream of ``expression`` (once ``SETUP_JS`` ran in the
    global scope; it leaves an existing helper alone)."""
    return f"__v8cffi_streams.open(({expression}\n))"
