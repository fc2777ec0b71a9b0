// expect: V8JSError
Promise.reject(1); undefined.x
