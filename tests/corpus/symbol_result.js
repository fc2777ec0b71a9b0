// expect: V8JSError
Symbol("s")
