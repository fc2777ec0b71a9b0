// expect: ok
eval("[".repeat(2000) + "]".repeat(2000)).length
