"""The opt-in DOM (``dom=True``, ``V8RS_WEB_DOM``): linkedom's document, elements,
selectors, attributes, serialization, events and parsers; DOMPurify, turndown and
@mozilla/readability on it. Each result is compared, byte for byte, with Node 20 running
the same linkedom bundle (``src/engine/web/dom.js``) and the same packages."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from v8cffi.context import Context
from v8cffi.platform import platform
from v8cffi.vm import VM

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOM_JS = ROOT / "src" / "engine" / "web" / "dom.js"
NODE = shutil.which("node")

#: What dom=True adds (a few of them), and nothing else has.
DOM_GLOBALS = [
    "window",
    "document",
    "DOMParser",
    "Node",
    "Element",
    "HTMLElement",
    "HTMLDivElement",
    "Text",
    "Comment",
    "DocumentFragment",
    "CustomEvent",
    "navigator",
    "location",
    "getComputedStyle",
    "requestAnimationFrame",
    "MutationObserver",
    "XMLSerializer",
    "NodeFilter",
    "TreeWalker",
]


@pytest.fixture
def dom(vm: VM) -> Iterator[Context]:
    with vm.create_context(dom=True) as ctx:
        yield ctx


def in_v8rs(ctx: Context, script: str, libs: tuple[str, ...] = (), data: object = None) -> str:
    """The JSON text of `script` (the body of a function of `data`) in `ctx`."""
    for lib in libs:
        ctx.run_script((FIXTURES / lib).read_text(), lib)
    result = ctx.call(f"(data) => JSON.stringify((() => {{ {script} }})())", data)
    assert isinstance(result, str)
    return result


def in_node(script: str, libs: tuple[str, ...] = (), data: object = None) -> str:
    """The same in Node 20: the linkedom bundle's globals on Node's global object (all
    of them: Node's own `Event`, `EventTarget`, `CustomEvent` give way as in v8rs),
    then `libs`, then `script`."""
    assert NODE is not None
    loads = "".join(
        f"vm.runInThisContext(fs.readFileSync({json.dumps(str(FIXTURES / lib))}, 'utf8'));\n" for lib in libs
    )
    program = (
        "const vm = require('node:vm'); const fs = require('node:fs');\n"
        f"const made = vm.runInThisContext(fs.readFileSync({json.dumps(str(DOM_JS))}, 'utf8'))(globalThis);\n"
        "const own = (name, value) => Object.defineProperty(globalThis, name,"
        " { value, writable: true, configurable: true, enumerable: false });\n"
        "own('window', globalThis);\n"
        "for (const [name, value] of Object.entries(made)) own(name, value);\n"
        + loads
        + "let input = ''; process.stdin.on('data', (c) => { input += c; });\n"
        + "process.stdin.on('end', () => { const data = JSON.parse(input);\n"
        + f"process.stdout.write(JSON.stringify((() => {{ {script} }})())); }});\n"
    )
    done = subprocess.run(
        [NODE, "-e", program], input=json.dumps(data), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def same_as_node(ctx: Context, script: str, libs: tuple[str, ...] = (), data: object = None) -> object:
    """Runs `script` in `ctx` and, when Node is there, in Node: the texts must be equal."""
    ours = in_v8rs(ctx, script, libs, data)
    if NODE is not None:
        assert ours == in_node(script, libs, data)
    return json.loads(ours)


# --- which contexts have it -----------------------------------------------------------


def test_contexts_without_dom_have_none_of_it(vm: VM) -> None:
    for web in (True, False):
        with vm.create_context(web=web) as ctx:
            # The events group has a CustomEvent of its own (as Node has).
            expected = ["CustomEvent"] if web else []
            assert ctx.eval(f"{json.dumps(DOM_GLOBALS)}.filter((name) => name in globalThis)") == expected
            assert ctx.eval("typeof Event") == ("function" if web else "undefined")


def test_dom_globals_are_lazy_and_not_enumerable(dom: Context) -> None:
    # Before the first use: getters (linkedom not loaded), window already the global.
    assert dom.eval("window === globalThis && self === window") is True
    assert dom.eval("typeof Object.getOwnPropertyDescriptor(globalThis, 'document').get") == "function"
    assert dom.eval(f"{json.dumps(DOM_GLOBALS)}.filter((name) => !(name in globalThis))") == []
    # First use: every getter is replaced with its value.
    assert dom.eval("document.documentElement.outerHTML") == "<html><head></head><body></body></html>"
    assert (
        dom.eval(
            f"{json.dumps(DOM_GLOBALS)}.filter((n) =>"
            " Object.getOwnPropertyDescriptor(globalThis, n).get !== undefined)"
        )
        == []
    )
    assert dom.eval("Object.keys(globalThis)") == []
    assert dom.eval(
        "[document.defaultView === window, document.body instanceof HTMLElement,"
        " document.body instanceof Node, document instanceof Document]"
    ) == [True, True, True, True]
    assert dom.eval("[navigator.userAgent, location.href, String(location), location.origin]") == [
        "v8rs",
        "about:blank",
        "about:blank",
        "null",
    ]


def test_dom_alone_and_beside_any_web_group(vm: VM) -> None:
    for web in (False, {"timers"}, True):
        with vm.create_context(web=web, dom=True) as ctx:
            assert ctx.eval("document.createElement('p').outerHTML") == "<p></p>"
            assert ctx.eval(
                "new DOMParser().parseFromString('<b>&amp;x</b>', 'text/html').body.innerHTML"
            ) == ("<b>&amp;x</b>")


def test_a_global_assigned_before_the_first_use_wins(dom: Context) -> None:
    assert dom.eval("globalThis.navigator = { userAgent: 'mine' }; navigator.userAgent") == "mine"
    assert dom.eval("document.body.tagName") == "BODY"


def test_an_existing_global_is_kept(dom: Context) -> None:
    # The events group's Event and EventTarget give way (events on nodes bubble);
    # AbortSignal keeps its own.
    assert dom.eval("new AbortController().signal instanceof EventTarget") is False
    assert (
        dom.eval(
            "const c = new AbortController(); let n = 0;"
            " c.signal.addEventListener('abort', () => n++); c.abort(); n"
        )
        == 1
    )


# --- the DOM, compared with Node ----------------------------------------------------------

BASICS = r"""
const out = {};
document.body.innerHTML = '<main id="app"><ul class="list"><li data-n="1">One</li>' +
  '<li data-n="2" class="sel">Two &amp; <em>half</em></li></ul><!-- note --><p>Para</p></main>';
out.html = document.body.innerHTML;
out.query = [...document.querySelectorAll('ul.list > li')].map((li) => li.textContent);
out.selected = document.querySelector('li.sel[data-n="2"] em').outerHTML;
out.matches = [document.querySelector('li').matches('main li:first-child'),
  !!document.querySelector('li').closest('#app'), document.querySelectorAll('li:not(.sel)').length,
  document.getElementById('app').children.length];
const li = document.createElement('li');
li.setAttribute('data-n', '3');
li.textContent = '<Three> & "four"';
li.classList.add('x', 'y');
li.classList.toggle('x');
li.classList.replace('y', 'z');
document.querySelector('ul').appendChild(li);
out.attributes = [li.getAttribute('data-n'), li.hasAttribute('class'), li.className, li.dataset.n,
  li.outerHTML, [...li.classList], li.attributes.length];
li.removeAttribute('data-n');
li.id = 'three';
li.title = 'a "quoted" & title';
out.attributesAfter = li.outerHTML;
const fragment = document.createDocumentFragment();
fragment.append(document.createTextNode('a<b'), document.createComment(' c '), document.createElement('br'));
document.querySelector('p').append(fragment);
out.paragraph = document.querySelector('p').outerHTML;
out.nodes = [...document.querySelector('main').childNodes].map((n) => `${n.nodeType}:${n.nodeName}`);
out.text = document.querySelector('main').textContent;
out.innerRoundTrip = (() => {
  const d = document.createElement('div'); d.innerHTML = out.html; return d.innerHTML === out.html;
})();
out.outerRoundTrip = (() => {
  const t = document.createElement('template'); t.innerHTML = document.querySelector('main').outerHTML;
  return t.content.firstChild.outerHTML === document.querySelector('main').outerHTML;
})();
out.textRoundTrip = (() => {
  const d = document.createElement('div'); d.textContent = '<x> & y'; return [d.innerHTML, d.textContent];
})();
out.clone = document.querySelector('ul').cloneNode(true).outerHTML;
out.shallow = document.querySelector('ul').cloneNode(false).outerHTML;
document.querySelector('em').remove();
li.before(document.createElement('hr'));
li.replaceWith(document.createTextNode('gone'));
out.edited = document.body.innerHTML;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
const walked = [];
while (walker.nextNode()) walked.push(walker.currentNode.tagName);
out.walked = walked;
out.document = document.toString();
return out;
"""

EVENTS = r"""
const log = [];
document.body.innerHTML = '<div id="outer"><span id="inner">x</span></div>';
const outer = document.getElementById('outer'), inner = document.getElementById('inner');
document.addEventListener('ping', (e) => log.push('document:' + e.target.id));
outer.addEventListener('ping', (e) =>
  log.push('outer:' + e.target.id + ':' + e.eventPhase + ':' + e.currentTarget.id));
inner.addEventListener('ping', (e) => log.push('inner:' + e.detail + ':' + e.eventPhase));
inner.dispatchEvent(new CustomEvent('ping', { bubbles: true, detail: 42 }));
inner.dispatchEvent(new Event('ping'));
outer.addEventListener('stop', () => log.push('outer-stop'));
inner.addEventListener('stop', (e) => { e.stopPropagation(); log.push('inner-stop'); });
inner.dispatchEvent(new Event('stop', { bubbles: true }));
const once = () => log.push('once');
inner.addEventListener('once', once, { once: true });
inner.dispatchEvent(new Event('once'));
inner.dispatchEvent(new Event('once'));
const removed = () => log.push('removed');
inner.addEventListener('gone', removed);
inner.removeEventListener('gone', removed);
inner.dispatchEvent(new Event('gone'));
inner.addEventListener('cancel', (e) => e.preventDefault());
const cancelable = new Event('cancel', { cancelable: true });
const notPrevented = inner.dispatchEvent(cancelable);
window.addEventListener('up', (e) => log.push('window:' + e.target.id));
inner.dispatchEvent(new Event('up', { bubbles: true }));
const clicked = [];
inner.addEventListener('click', (e) => clicked.push(e.type));
inner.click();
return { log, notPrevented, defaultPrevented: cancelable.defaultPrevented, clicked,
  isEvent: new CustomEvent('x') instanceof Event };
"""

PARSERS = r"""
const html = new DOMParser().parseFromString(
  '<!doctype html><html lang="en"><head><title>T &amp; t</title></head>' +
  '<body><div id=a>x<br>y<p>unclosed</div>' +
  '<script>never()</script><img src="http://example.invalid/a.png"></body></html>', 'text/html');
const xml = new DOMParser().parseFromString(
  '<?xml version="1.0" encoding="utf-8"?><root xmlns:x="urn:x" a="1"><item id="i1">t &amp; u</item>' +
  '<x:empty/><![CDATA[<raw>]]></root>', 'text/xml');
const svg = new DOMParser().parseFromString(
  '<svg xmlns="http://www.w3.org/2000/svg"><circle r="2"/></svg>', 'image/svg+xml');
return {
  title: html.title,
  lang: html.documentElement.getAttribute('lang'),
  html: html.documentElement.outerHTML,
  doctype: html.doctype && html.doctype.name,
  a: html.getElementById('a').innerHTML,
  scripts: html.querySelectorAll('script').length,
  xmlRoot: xml.documentElement.tagName,
  item: [xml.querySelector('item').getAttribute('id'), xml.querySelector('item').textContent],
  xmlText: new XMLSerializer().serializeToString(xml),
  xmlOuter: xml.documentElement.outerHTML,
  svg: new XMLSerializer().serializeToString(svg.documentElement),
};
"""


def test_basic_dom_as_node(dom: Context) -> None:
    out = same_as_node(dom, BASICS)
    assert isinstance(out, dict)
    assert out["query"] == ["One", "Two & half"]
    assert out["attributes"][:4] == ["3", True, "z", "3"]
    assert out["innerRoundTrip"] is True and out["outerRoundTrip"] is True
    assert out["textRoundTrip"] == ["&lt;x&gt; &amp; y", "<x> & y"]
    assert out["walked"][0] == "MAIN"


def test_events_bubble_as_node(dom: Context) -> None:
    out = same_as_node(dom, EVENTS)
    assert isinstance(out, dict)
    assert out["log"][:4] == ["inner:42:2", "outer:inner:3:outer", "document:inner", "inner:undefined:2"]
    assert "outer-stop" not in out["log"]
    assert out["log"].count("once") == 1 and "removed" not in out["log"]
    assert "window:inner" in out["log"]
    assert out["notPrevented"] is False and out["defaultPrevented"] is True
    assert out["clicked"] == ["click"] and out["isEvent"] is True


def test_dom_parser_html_and_xml_as_node(dom: Context) -> None:
    out = same_as_node(dom, PARSERS)
    assert isinstance(out, dict)
    assert out["title"] == "T & t" and out["xmlRoot"] == "root"
    assert out["item"] == ["i1", "t & u"]
    assert out["scripts"] == 1  # parsed, never run


def test_script_and_img_never_load(dom: Context) -> None:
    dom.eval(
        "globalThis.ran = false; document.body.innerHTML ="
        " '<script>globalThis.ran = true</script>'"
        ' + \'<img src="http://example.invalid/x.png" onload="ran = true">\''
    )
    dom.eval(
        "document.body.appendChild(Object.assign(document.createElement('script'),"
        " { textContent: 'ran = true' }))"
    )
    dom.run_until_idle(timeout=5)
    assert dom.eval("ran") is False


def test_window_members(dom: Context) -> None:
    assert dom.eval(
        "const d = document.createElement('div'); d.style.color = 'red';"
        " d.setAttribute('style', 'color: red; margin-top: 2px'); const s = getComputedStyle(d);"
        " [s.color, s.marginTop, s.getPropertyValue('margin-top'), s.display, s.length]"
    ) == [
        "red",
        "2px",
        "2px",
        "",
        2,
    ]
    assert "TypeError" in dom.eval("try { getComputedStyle({}) } catch (e) { String(e) }")
    frame = dom.eval(
        "new Promise((resolve) => { const t0 = performance.now();"
        " requestAnimationFrame((t) => resolve(t >= t0)); })",
        await_promise=True,
    )
    assert frame is True
    assert (
        dom.eval(
            "let n = 0; const id = requestAnimationFrame(() => n++); cancelAnimationFrame(id);"
            " new Promise((r) => setTimeout(() => r(n), 40))",
            await_promise=True,
        )
        == 0
    )


def test_mutation_observer(dom: Context) -> None:
    records = dom.eval(
        "new Promise((resolve) => {"
        " const seen = [];"
        " const observer = new MutationObserver((records) => {"
        "  for (const r of records) seen.push(r.type + ':' +"
        "  (r.attributeName || r.addedNodes.length)); observer.disconnect(); resolve(seen); });"
        " observer.observe(document.body, { childList: true, attributes: true, subtree: true });"
        " document.body.appendChild(document.createElement('i'));"
        "})",
        await_promise=True,
    )
    assert records == ["childList:1"]


# --- npm packages that need a DOM, compared with Node -------------------------------------

MALICIOUS = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script><p>kept</p>",
    '<a href="javascript:alert(1)">link</a><a href="https://example.com/" target="_blank">ok</a>',
    "<svg><g/onload=alert(2)//<p>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<math><mi//xlink:href="data:x,<script>alert(4)</script>">',
    "<TABLE><tr><td>HELLO</tr></TABL>",
    "<UL><li><A HREF=//google.com>click</UL>",
    '<div style="background:url(javascript:alert(1))" onclick="x()">styled</div>',
    '<form action="javascript:alert(1)"><input type="submit" formaction="javascript:alert(2)"></form>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<p id="__proto__">proto</p><p name="createElement">clobber</p>',
    "<b>bold</b> &amp; <i>italic</i> <!-- comment --> text",
]


def test_dompurify_sanitizes_as_node(dom: Context) -> None:
    script = (
        "const plain = data.map((html) => DOMPurify.sanitize(html));"
        " const strict = data.map((html) => DOMPurify.sanitize(html, { ALLOWED_TAGS: ['b', 'i', 'p', 'a'],"
        " ALLOWED_ATTR: ['href'] }));"
        " return { supported: DOMPurify.isSupported, version: DOMPurify.version, plain, strict };"
    )
    out = same_as_node(dom, script, ("dompurify.js",), MALICIOUS)
    assert isinstance(out, dict)
    assert out["supported"] is True
    for cleaned in out["plain"] + out["strict"]:
        assert "onerror" not in cleaned and "<script" not in cleaned and 'href="javascript:' not in cleaned
        assert "onclick" not in cleaned and "action=" not in cleaned and "<iframe" not in cleaned
    assert out["plain"][1] == "<p>kept</p>"


ARTICLE_HTML = """<!doctype html><html><head><title>On linked lists | The Blog</title>
<meta name="author" content="Ada Lovelace"><meta property="og:site_name" content="The Blog"></head>
<body><header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
<div class="sidebar"><h3>Related</h3><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li></ul></div>
<article><h1>On linked lists</h1><p class="byline">By Ada Lovelace</p>
<p>A linked list is a linear collection of data elements whose order is not given by their physical
placement in memory. Instead, each element points to the next. It is a data structure consisting of a
collection of nodes which together represent a sequence.</p>
<p>In its most basic form, each node contains data, and a reference (in other words, a link) to the next
node in the sequence. This structure allows for efficient insertion or removal of elements from any
position in the sequence during iteration.</p>
<h2>Drawbacks</h2><p>More complex variants add additional links, allowing more efficient insertion or
removal of nodes at arbitrary positions. A drawback of linked lists is that data access time is a linear
function of the number of nodes for each linked list.</p>
<pre><code>struct node { int value; struct node *next; };</code></pre>
<p>Linked lists are among the simplest and most common data structures. They can be used to implement
several other common abstract data types, including lists, stacks, queues, associative arrays, and
S-expressions, though it is not uncommon to implement those data structures directly.</p>
<table><tr><th>Operation</th><th>Cost</th></tr><tr><td>insert</td><td>O(1)</td></tr></table>
<blockquote>Premature optimization is the root of all evil.</blockquote>
<ul><li>singly linked</li><li>doubly <em>linked</em></li><li>circular</li></ul>
<img src="https://example.com/list.png" alt="a list"></article>
<footer><p>&copy; 2024 The Blog. <a href="/privacy">Privacy</a></p></footer>
<script>track()</script></body></html>"""


def test_turndown_converts_as_node(dom: Context) -> None:
    script = (
        "const service = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced' });"
        " const fromString = service.turndown(data);"
        " const node = document.createElement('div');"
        " node.innerHTML = '<h2>Title</h2><p>Some <strong>bold</strong>"
        ' and <a href="https://example.com/">a link</a>.</p><ol><li>one</li><li>two</li></ol>\';'
        " return { fromString, fromNode: service.turndown(node),"
        " escaped: new TurndownService().turndown('<p>1. not a list * or _emphasis_</p>') };"
    )
    out = same_as_node(dom, script, ("turndown.js",), ARTICLE_HTML)
    assert isinstance(out, dict)
    assert "# On linked lists" in out["fromString"] and "```" in out["fromString"]
    assert out["fromNode"].startswith("## Title")


def test_readability_extracts_as_node(dom: Context) -> None:
    script = (
        "const doc = new DOMParser().parseFromString(data, 'text/html');"
        " const readerable = readability.isProbablyReaderable(doc);"
        " const article = new readability.Readability(doc).parse();"
        " return { readerable, title: article.title, byline: article.byline, siteName: article.siteName,"
        " excerpt: article.excerpt, length: article.length, textContent: article.textContent,"
        " content: article.content };"
    )
    out = same_as_node(dom, script, ("readability.js",), ARTICLE_HTML)
    assert isinstance(out, dict)
    assert out["title"] == "On linked lists | The Blog" and out["byline"] == "Ada Lovelace"
    assert "linear collection" in out["textContent"] and "Privacy" not in out["textContent"]


# --- snapshots ----------------------------------------------------------------------------


def test_dom_in_vms_from_a_snapshot() -> None:
    # A snapshot holds no DOM (its scripts run without one); a dom context of a VM made
    # from it gets the DOM on top of the snapshot's globals, loaded on first use.
    blob = platform.create_snapshot(
        [
            "globalThis.render = (name) => { const p = document.createElement('p');"
            " p.textContent = name; return p.outerHTML; };"
            " globalThis.hasDom = typeof document !== 'undefined';"
        ],
        warmup=["render"],
        isolated=False,
    )
    with platform.create_vm(snapshot=blob) as vm:
        with vm.create_context(dom=True) as ctx:
            assert ctx.eval("hasDom") is False
            assert ctx.eval("render('<a & b>')") == "<p>&lt;a &amp; b&gt;</p>"
            assert ctx.eval("window === globalThis") is True
        with vm.create_context() as ctx:
            assert ctx.eval("typeof document") == "undefined"
            assert "ReferenceError" in ctx.eval("try { render('x') } catch (e) { String(e) }")


def test_many_dom_contexts_are_independent(vm: VM) -> None:
    contexts = [vm.create_context(dom=True).set_up() for _ in range(3)]
    try:
        for i, ctx in enumerate(contexts):
            ctx.eval(f"document.body.id = 'c{i}'")
        assert [ctx.eval("document.body.id") for ctx in contexts] == ["c0", "c1", "c2"]
    finally:
        for ctx in contexts:
            ctx.tear_down()
