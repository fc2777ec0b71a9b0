// expect: V8JSError
JSON.parse("[".repeat(1e6))
