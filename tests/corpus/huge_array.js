// expect: ok
new Array(1e6).fill(0).length
