//! The DevTools inspector: a WebSocket client drives V8's inspector of a VM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use v8rs::engine::Inspector;
use v8rs::{Code, Context, Vm};

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

/// A tiny CDP client.
struct Cdp {
    ws: Ws,
    next: u64,
    /// Notifications read while waiting for something else.
    seen: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).expect("connect");
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        }
        Cdp {
            ws,
            next: 0,
            seen: Vec::new(),
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("read") {
                tungstenite::Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                _ => continue,
            }
        }
    }

    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next += 1;
        let message = json!({"id": self.next, "method": method, "params": params});
        self.ws
            .send(tungstenite::Message::text(message.to_string()))
            .expect("send");
        self.next
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        loop {
            let message = self.read();
            if message["id"] == json!(id) {
                return message;
            }
            self.seen.push(message);
        }
    }

    fn event(&mut self, method: &str) -> Value {
        if let Some(at) = self.seen.iter().position(|m| m["method"] == method) {
            return self.seen.remove(at);
        }
        loop {
            let message = self.read();
            if message["method"] == method {
                return message;
            }
            self.seen.push(message);
        }
    }
}

fn start() -> (Arc<Vm>, Arc<Context>, Arc<Inspector>) {
    common::platform();
    let vm = Vm::new().expect("vm");
    let ctx = Context::new(&vm).expect("context");
    let inspector = Inspector::start(&vm, "127.0.0.1", 0).expect("inspector");
    (vm, ctx, inspector)
}

fn http_get(inspector: &Inspector, path: &str) -> String {
    let mut s = TcpStream::connect(inspector.address()).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
        inspector.address()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn breakpoint_by_url_pause_evaluate_resume() {
    let (_vm, ctx, inspector) = start();
    let url = inspector.url().to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");

    let list = http_get(&inspector, "/json/list");
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    let body: Value = serde_json::from_str(list.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body[0]["webSocketDebuggerUrl"], json!(url));
    assert_eq!(body[0]["type"], json!("node"));

    let mut cdp = Cdp::connect(&url);
    assert!(cdp.call("Runtime.enable", json!({}))["result"].is_object());
    let created = cdp.event("Runtime.executionContextCreated");
    assert_eq!(
        created["params"]["context"]["auxData"]["isDefault"],
        json!(true)
    );
    let r = cdp.call("Runtime.evaluate", json!({"expression": "6 * 7"}));
    assert_eq!(r["result"]["result"]["value"], json!(42));
    cdp.call("Debugger.enable", json!({}));
    let bp = cdp.call(
        "Debugger.setBreakpointByUrl",
        json!({"url": "calc.js", "lineNumber": 2}),
    );
    assert!(bp["result"]["breakpointId"].is_string(), "{bp}");

    let runner = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || {
            let source =
                "function calc(a) {\n  const local = a * 2;\n  return local + 1;\n}\ncalc(20);";
            ctx.run_script_with_timeout(source.as_bytes(), b"calc.js", Some(Duration::from_secs(2)))
                .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned())
        })
    };
    let paused = cdp.event("Debugger.paused");
    let frames = paused["params"]["callFrames"].as_array().unwrap().clone();
    assert_eq!(frames[0]["functionName"], json!("calc"));
    assert_eq!(frames[0]["location"]["lineNumber"], json!(2));
    let frame = frames[0]["callFrameId"].clone();
    // Past the call's timeout of 2 s while paused: it must not fire.
    thread::sleep(Duration::from_millis(2500));
    let r = cdp.call(
        "Debugger.evaluateOnCallFrame",
        json!({"callFrameId": frame, "expression": "local"}),
    );
    assert_eq!(r["result"]["result"]["value"], json!(40), "{r}");
    // Garbage gets a protocol error, not a crash.
    cdp.ws
        .send(tungstenite::Message::text("{not json"))
        .unwrap();
    cdp.call("Debugger.resume", json!({}));
    assert_eq!(runner.join().unwrap().unwrap(), "41");

    // Served while no call runs, and calls go on.
    let r = cdp.call("Runtime.evaluate", json!({"expression": "typeof calc"}));
    assert_eq!(r["result"]["result"]["value"], json!("function"));
    for i in 0..20 {
        let out = ctx
            .run_script(format!("{i} + 1").as_bytes(), b"n.js")
            .unwrap();
        assert_eq!(out.as_bytes(), (i + 1).to_string().as_bytes());
    }
    inspector.stop();
}

#[test]
fn second_inspector_is_invalid_state_and_bad_host_is_invalid_argument() {
    let (vm, _ctx, inspector) = start();
    let err = Inspector::start(&vm, "127.0.0.1", 0)
        .err()
        .expect("second one");
    assert_eq!(err.code(), Code::InvalidState);
    let err = Inspector::start(&vm, "no such host.invalid", 0)
        .err()
        .expect("bad host");
    assert_eq!(err.code(), Code::InvalidArgument);
    let port = inspector.address().port();
    inspector.stop();
    let vm2 = Vm::new().unwrap();
    let a = Inspector::start(&vm, "127.0.0.1", 0).expect("again after stop");
    let err = Inspector::start(&vm2, "127.0.0.1", a.address().port())
        .err()
        .expect("port in use");
    assert_eq!(err.code(), Code::IoError);
    let _ = port;
}

#[test]
fn freeing_the_vm_with_a_client_paused_does_not_hang() {
    let (vm, ctx, inspector) = start();
    let mut cdp = Cdp::connect(inspector.url());
    cdp.call("Debugger.enable", json!({}));
    let runner = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || {
            ctx.run_script(b"debugger; 5", b"d.js")
                .map(|t| t.as_bytes().to_vec())
        })
    };
    cdp.event("Debugger.paused");
    let started = Instant::now();
    vm.close();
    assert_eq!(runner.join().unwrap().unwrap(), b"5");
    drop(ctx);
    drop(vm);
    inspector.stop();
    drop(inspector);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn client_leaving_mid_pause_resumes() {
    let (_vm, ctx, inspector) = start();
    let mut cdp = Cdp::connect(inspector.url());
    cdp.call("Debugger.enable", json!({}));
    let runner = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || {
            ctx.run_script(b"debugger; 7", b"d.js")
                .map(|t| t.as_bytes().to_vec())
        })
    };
    cdp.event("Debugger.paused");
    drop(cdp);
    assert_eq!(runner.join().unwrap().unwrap(), b"7");
    // A new client is welcome.
    let mut cdp = Cdp::connect(inspector.url());
    let r = cdp.call("Runtime.evaluate", json!({"expression": "1 + 2"}));
    assert_eq!(r["result"]["result"]["value"], json!(3));
    drop(inspector); // stops with a client connected
}

#[test]
fn terminate_ends_a_pause() {
    let (vm, ctx, inspector) = start();
    let mut cdp = Cdp::connect(inspector.url());
    cdp.call("Debugger.enable", json!({}));
    let runner = {
        let ctx = Arc::clone(&ctx);
        thread::spawn(move || ctx.run_script(b"debugger; 5", b"t.js").map(|_| ()))
    };
    cdp.event("Debugger.paused");
    assert!(vm.terminate());
    let err = runner.join().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Terminated);
    cdp.event("Debugger.resumed");
    let r = cdp.call("Runtime.evaluate", json!({"expression": "2 + 2"}));
    assert_eq!(r["result"]["result"]["value"], json!(4));
}
