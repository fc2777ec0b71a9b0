// expect: V8JSError
(function f() { return f() })()
