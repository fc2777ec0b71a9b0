// expect: V8JSError
String(new Proxy({}, { get() { throw new Error("trap") } }))
