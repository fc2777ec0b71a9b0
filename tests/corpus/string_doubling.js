// expect: V8JSError
var s = "x"; while (true) s += s;
