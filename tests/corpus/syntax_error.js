// expect: V8JSSyntaxError
var = ;
