// expect: V8TimeoutError
while (true) {}
