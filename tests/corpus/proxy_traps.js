// expect: ok
new Proxy({}, { get: () => 1, ownKeys: () => [], has: () => true }).anything
