// expect: V8JSError
({ get x() { throw new TypeError("getter") } }).x
