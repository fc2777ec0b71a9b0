// expect: ok
"a\u2028b\u2029c\nd".length
