// expect: V8JSError
throw undefined
