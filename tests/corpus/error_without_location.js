// expect: V8JSSyntaxError
// Found by the fuzzer: V8 places this error nowhere (line 0, column -1), which once made
// the trace text try to draw four billion carets.
`\