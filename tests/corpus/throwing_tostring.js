// expect: V8JSError
({ toString() { throw new Error("no string for you") } })
