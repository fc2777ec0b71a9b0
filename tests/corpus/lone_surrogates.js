// expect: ok
"\ud800" + "\udfff".split("").reverse().join("")
