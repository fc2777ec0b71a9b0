// expect: V8JSError
// Array buffer contents live outside the heap: the VM (64 MB heap limit) caps them too,
// so this is a RangeError instead of gigabytes taken.
var held = [];
while (true) held.push(new Uint8Array(16 * 2 ** 20).fill(1));
