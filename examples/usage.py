"""The usage page of v8cffi: load a bundle once, render many times, from any thread."""

from __future__ import annotations

import os
import threading

from v8cffi import V8JSError, shortcuts

HERE = os.path.dirname(os.path.abspath(__file__))

shortcuts.set_up()
ctx = shortcuts.get_context()
ctx.load_libs([os.path.join(HERE, "foo_bundled.js")])
print(ctx.run_script('foo.render("hola mundo");'))

# The global context works from any thread; calls on it take turns.
results: list[str] = []
threads = [
    threading.Thread(target=lambda i=i: results.append(ctx.run_script(f'foo.shout("thread {i}")')))
    for i in range(3)
]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sorted(results))

# JavaScript errors carry the script name, line, source and stack.
try:
    ctx.run_script("foo.render(missing)", identifier="page.js")
except V8JSError as e:
    print(f"{e.name} at {e.script_name}:{e.line}: {e.js_message}")
