// expect: V8MemoryError
(function () { var a = []; while (true) a.push({ x: a.length }) })()
