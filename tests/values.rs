//! Values in the wire format: eval, call, promises, conversion errors.

mod common;

use v8rs::CallFlags;

const NONE: CallFlags = CallFlags {
    await_promise: false,
    accept_json: false,
    source_maps: false,
};
const AWAIT_PROMISE: CallFlags = CallFlags {
    await_promise: true,
    accept_json: false,
    source_maps: false,
};
const ACCEPT_JSON: CallFlags = CallFlags {
    await_promise: false,
    accept_json: true,
    source_maps: false,
};
use v8rs::Code;

fn eval(ctx: &v8rs::Context, src: &str) -> Result<Vec<u8>, v8rs::Error> {
    ctx.eval(src.as_bytes(), b"values.js", None, NONE)
}

fn latin1(s: &str) -> Vec<u8> {
    let mut out = vec![b'l'];
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out
}

#[test]
fn scalars_are_written_in_the_wire_format() {
    let ctx = common::context();
    assert_eq!(eval(&ctx, "undefined").unwrap(), b"u");
    assert_eq!(eval(&ctx, "null").unwrap(), b"n");
    assert_eq!(eval(&ctx, "true").unwrap(), b"t");
    let mut seven = vec![b'i'];
    seven.extend_from_slice(&7i64.to_le_bytes());
    assert_eq!(eval(&ctx, "3 + 4").unwrap(), seven);
    let mut half = vec![b'd'];
    half.extend_from_slice(&0.5f64.to_le_bytes());
    assert_eq!(eval(&ctx, "1 / 2").unwrap(), half);
    let mut minus_zero = vec![b'd'];
    minus_zero.extend_from_slice(&(-0.0f64).to_le_bytes());
    assert_eq!(eval(&ctx, "-0").unwrap(), minus_zero);
    assert_eq!(eval(&ctx, "'abc'").unwrap(), latin1("abc"));
    let mut snowman = vec![b'w'];
    snowman.extend_from_slice(&1u32.to_le_bytes());
    snowman.extend_from_slice(&0x2603u16.to_le_bytes());
    assert_eq!(eval(&ctx, "'\\u2603'").unwrap(), snowman);
    let mut big = vec![b'N', 1];
    big.extend_from_slice(&2u32.to_le_bytes());
    big.extend_from_slice(&0u64.to_le_bytes());
    big.extend_from_slice(&1u64.to_le_bytes());
    assert_eq!(eval(&ctx, "-(2n ** 64n)").unwrap(), big);
}

#[test]
fn containers_are_written_in_order() {
    let ctx = common::context();
    let mut expected = vec![b'o'];
    expected.extend_from_slice(&2u32.to_le_bytes());
    expected.extend(latin1("a"));
    expected.push(b'a');
    expected.extend_from_slice(&1u32.to_le_bytes());
    expected.push(b'n');
    expected.extend(latin1("b"));
    expected.push(b'B');
    expected.extend_from_slice(&2u32.to_le_bytes());
    expected.extend_from_slice(&[1, 2]);
    assert_eq!(
        eval(&ctx, "({a: [null], b: new Uint8Array([1, 2])})").unwrap(),
        expected
    );
}

#[test]
fn call_round_trips_its_arguments() {
    let ctx = common::context();
    let mut args = vec![b'a'];
    args.extend_from_slice(&2u32.to_le_bytes());
    args.extend(latin1("hola"));
    args.push(b'S');
    args.extend_from_slice(&1u32.to_le_bytes());
    args.push(b't');
    let out = ctx.call(b"(a, b) => [a, b]", &args, None, NONE).unwrap();
    assert_eq!(out, args);
}

#[test]
fn malformed_arguments_are_invalid_arguments() {
    let ctx = common::context();
    for args in [
        &b""[..],
        b"x",
        b"a\x05\x00\x00\x00",
        b"l\xff\xff\xff\xff",
        b"nn",
        b"o\x01\x00\x00\x00i",
    ] {
        let err = ctx.call(b"(x) => x", args, None, NONE).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{args:?}: {err}");
    }
    let err = ctx.call(b"(x) => x", b"n", None, NONE).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "not an array");
}

#[test]
fn call_json_reads_its_arguments_as_a_json_array() {
    let ctx = common::context();
    let out = ctx
        .call_json(b"(a, b) => [a, b]", br#"["hola", [true]]"#, None, NONE)
        .unwrap();
    let mut expected = vec![b'a'];
    expected.extend_from_slice(&2u32.to_le_bytes());
    expected.extend(latin1("hola"));
    expected.push(b'a');
    expected.extend_from_slice(&1u32.to_le_bytes());
    expected.push(b't');
    assert_eq!(out, expected);
    // UTF-8 text is read as UTF-8.
    let out = ctx
        .call_json(b"(s) => s", "[\"ñ\"]".as_bytes(), None, NONE)
        .unwrap();
    assert_eq!(out, b"l\x01\x00\x00\x00\xf1");
    for args in [&b""[..], b"[1,", b"{\"a\": 1}", b"1", b"[1] x"] {
        let err = ctx.call_json(b"(x) => x", args, None, NONE).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{args:?}: {err}");
    }
}

#[test]
fn unconvertible_results_say_where() {
    let ctx = common::context();
    let err = eval(&ctx, "({list: [1, {f() {}}.f]})").unwrap_err();
    assert_eq!(err.code(), Code::Conversion);
    assert!(
        err.message().to_str_lossy().contains("result.list[1]"),
        "{err}"
    );
    let err = eval(&ctx, "var o = {}; o.o = o; o").unwrap_err();
    assert!(err.message().to_str_lossy().contains("cycle"), "{err}");
}

#[test]
fn promises_settle_when_asked() {
    let ctx = common::context();
    let out = ctx
        .eval(b"(async () => 6 * 7)()", b"p.js", None, AWAIT_PROMISE)
        .unwrap();
    let mut expected = vec![b'i'];
    expected.extend_from_slice(&42i64.to_le_bytes());
    assert_eq!(out, expected);
    let err = ctx
        .eval(
            b"Promise.reject(new RangeError('no'))",
            b"p.js",
            None,
            AWAIT_PROMISE,
        )
        .unwrap_err();
    assert_eq!(err.js_error().unwrap().name.as_bytes(), b"RangeError");
    let err = ctx
        .eval(b"Promise.resolve(1)", b"p.js", None, NONE)
        .unwrap_err();
    assert_eq!(err.code(), Code::Conversion);
}

#[test]
fn json_exact_results_come_as_json_when_accepted() {
    let ctx = common::context();
    let src = b"({a: [1, 0.5, -0, 'x\"\\u00e9\\ud800\\n', null, undefined, true]})";
    let out = ctx.eval(src, b"j.js", None, ACCEPT_JSON).unwrap();
    // UTF-8 as it is; only quotes, backslashes, control characters and lone surrogates
    // are escaped.
    let expected = r#"{"a":[1,0.5,-0.0,"x\"é\ud800\u000a",null,null,true]}"#.as_bytes();
    let mut framed = vec![b'J'];
    framed.extend_from_slice(&(expected.len() as u32).to_le_bytes());
    framed.extend_from_slice(expected);
    assert_eq!(out, framed);
    // Anything JSON cannot say exactly keeps the tagged form.
    for src in [
        "[1n]",
        "[NaN]",
        "[new Date(0)]",
        "new Map()",
        "[new Uint8Array(1)]",
        "new Set()",
    ] {
        let out = ctx
            .eval(src.as_bytes(), b"j.js", None, ACCEPT_JSON)
            .unwrap();
        assert_ne!(out[0], b'J', "{src}");
    }
}

/// `T`: a Temporal value as its kind and its ISO 8601 text.
fn temporal(kind: u8, text: &str) -> Vec<u8> {
    let mut out = vec![b'T', kind];
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

#[test]
fn temporal_values_are_written_and_read_as_their_iso_text() {
    let ctx = common::context();
    let cases = [
        (
            "Temporal.PlainDate.from('2024-01-05')",
            temporal(b'D', "2024-01-05"),
        ),
        (
            "Temporal.Instant.fromEpochMilliseconds(0)",
            temporal(b'I', "1970-01-01T00:00:00Z"),
        ),
        (
            "Temporal.Duration.from({ hours: 2 })",
            temporal(b'R', "PT2H"),
        ),
        (
            "Temporal.ZonedDateTime.from('2024-01-05T10:00[Europe/Paris]')",
            // As its exact instant and zone (toString() rounds offsets to minutes).
            temporal(b'Z', "2024-01-05T09:00:00Z[Europe/Paris]"),
        ),
        (
            "Temporal.PlainMonthDay.from('02-29')",
            temporal(b'M', "02-29"),
        ),
        // A look-alike is an object like any other.
        (
            "Object.create(Temporal.PlainDate.prototype)",
            b"o\x00\x00\x00\x00".to_vec(),
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(&ctx, source).unwrap(), expected, "{source}");
    }
    let mut args = vec![b'a'];
    args.extend_from_slice(&1u32.to_le_bytes());
    args.extend(temporal(b't', "10:20:30.5"));
    let out = ctx
        .call(b"(t) => t.add({ seconds: 1 })", &args, None, NONE)
        .unwrap();
    assert_eq!(out, temporal(b't', "10:20:31.5"));
    for bad in [
        temporal(b't', "25:00"),
        temporal(b'x', "10:00"),
        temporal(b'D', "\u{e9}"),
    ] {
        let mut args = vec![b'a'];
        args.extend_from_slice(&1u32.to_le_bytes());
        args.extend(bad);
        let err = ctx.call(b"(x) => x", &args, None, NONE).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    }
}
