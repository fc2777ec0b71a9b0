// The web APIs of a v8rs context (docs/web-apis.md), built on the natives of
// src/web/mod.rs. Runs once per context; `features` is the V8RS_WEB_* mask. Globals are
// defined like built-ins (not enumerable) and never over one that already exists.
(function install(native, features) {
  'use strict';

  const ENCODING = 1 << 1, BASE64 = 1 << 2, STRUCTURED_CLONE = 1 << 3, PERFORMANCE = 1 << 4,
    CRYPTO = 1 << 5, URL_ = 1 << 6, EVENTS = 1 << 7, MESSAGE_CHANNEL = 1 << 8, STREAMS = 1 << 9,
    CONSOLE = 1 << 10, FETCH = 1 << 11;
  const global = globalThis;
  const kCreate = Symbol('v8rs.create');

  function define(name, value) {
    if (!(name in global)) {
      Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
    }
  }

  // Globals made on first use (web/lazy.rs): each of `names` not defined yet becomes
  // `loader()[name]` at its first read. `loader` builds its group once and returns its
  // exports (it must not read the group's own globals).
  const { lazyGlobals } = native;
  function defineLazy(names, loader) {
    lazyGlobals(global, names.filter((name) => !(name in global)), loader);
  }
  // A loader that builds its group once (web/lazy.rs refuses a read of a group's
  // globals while it is being built; should a build start inside another, the first
  // one made is kept, so every global of a group comes from one build).
  const once = (make) => {
    let made;
    return () => {
      if (made === undefined) {
        const value = make();
        if (made === undefined) made = value;
      }
      return made;
    };
  };

  // The web API classes, for structuredClone (web/clone.rs): their objects (and those
  // of subclasses) are platform objects, refused with a DataCloneError, or copied by the
  // function given (the serializable ones: Blob, File, CryptoKey).
  // Each also gets its WebIDL class string (`Object.prototype.toString` says
  // `[object URL]`), where it has none. What these use is taken now, before any user
  // script could replace it.
  const cloneBrands = new Map();
  const uncurry = Function.prototype.call.bind(Function.prototype.bind);
  const mapHas = uncurry(Function.prototype.call, Map.prototype.has);
  const mapSet = uncurry(Function.prototype.call, Map.prototype.set);
  const { defineProperty, hasOwn, values: valuesOf } = Object;
  const toStringTag = Symbol.toStringTag;
  function brandClass(Class, copy = null) {
    const prototype = Class.prototype;
    if (!mapHas(cloneBrands, prototype)) mapSet(cloneBrands, prototype, copy);
    if (!hasOwn(prototype, toStringTag)) {
      defineProperty(prototype, toStringTag, { value: Class.name, configurable: true });
    }
  }
  const isClass = (value) => {
    const first = typeof value === 'function' && value.prototype && typeof value.name === 'string'
      ? value.name[0] : undefined;
    return first !== undefined && first >= 'A' && first <= 'Z';
  };
  // A group's loader that brands the classes it exports.
  const branded = (make) => () => {
    const group = make();
    const values = valuesOf(group);
    for (let i = 0; i < values.length; i++) if (isClass(values[i])) brandClass(values[i]);
    return group;
  };

  function requireArgs(args, count, what) {
    if (args.length < count) {
      throw new TypeError(`Failed to execute '${what}': ${count} argument${count > 1 ? 's' : ''} required, but only ${args.length} present.`);
    }
  }

  const usv = (value) => String(value).toWellFormed();

  // --- DOMException ---------------------------------------------------------------
  const DOMEXCEPTION_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };

  class DOMException extends Error {
    #name;
    constructor(message = '', name = 'Error') {
      super(message);
      this.#name = String(name);
    }
    get name() { return this.#name; }
    get code() { return DOMEXCEPTION_CODES[this.#name] ?? 0; }
  }
  Object.defineProperty(DOMException.prototype, Symbol.toStringTag, { value: 'DOMException', configurable: true });
  for (const [name, code] of Object.entries(DOMEXCEPTION_CODES)) {
    const constant = name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() + '_ERR';
    Object.defineProperty(DOMException, constant, { value: code, enumerable: true });
  }

  const cloneError = (message) => new DOMException(message, 'DataCloneError');

  // --- Event, EventTarget ---------------------------------------------------------
  let dispatching;
  class Event {
    #type; #bubbles; #cancelable; #composed; #timeStamp;
    #defaultPrevented = false; #stopped = false; #target = null; #currentTarget = null;
    constructor(type, init = undefined) {
      requireArgs(arguments, 1, 'Event');
      this.#type = String(type);
      this.#bubbles = !!init?.bubbles;
      this.#cancelable = !!init?.cancelable;
      this.#composed = !!init?.composed;
      this.#timeStamp = native.now();
    }
    get type() { return this.#type; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get timeStamp() { return this.#timeStamp; }
    get defaultPrevented() { return this.#defaultPrevented; }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#currentTarget; }
    get eventPhase() { return this.#currentTarget ? Event.AT_TARGET : Event.NONE; }
    get isTrusted() { return false; }
    get returnValue() { return !this.#defaultPrevented; }
    composedPath() { return this.#currentTarget ? [this.#currentTarget] : []; }
    preventDefault() { if (this.#cancelable) this.#defaultPrevented = true; }
    stopPropagation() {}
    stopImmediatePropagation() { this.#stopped = true; }
    static {
      dispatching = (event, target) => {
        event.#target = target;
        event.#currentTarget = target;
        event.#stopped = false;
        return () => event.#stopped;
      };
    }
  }
  Object.assign(Event, { NONE: 0, CAPTURING_PHASE: 1, AT_TARGET: 2, BUBBLING_PHASE: 3 });

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = undefined) {
      requireArgs(arguments, 1, 'CustomEvent');
      super(type, init);
      this.#detail = init?.detail ?? null;
    }
    get detail() { return this.#detail; }
  }

  class EventTarget {
    #listeners = new Map();
    addEventListener(type, callback, options = undefined) {
      requireArgs(arguments, 2, 'addEventListener');
      if (callback === null || callback === undefined) return;
      const capture = typeof options === 'boolean' ? options : !!options?.capture;
      const once = !!options?.once;
      const signal = options?.signal;
      if (signal?.aborted) return;
      type = String(type);
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const listener = { callback, capture, once, removed: false };
      list.push(listener);
      signal?.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
    }
    removeEventListener(type, callback, options = undefined) {
      const capture = typeof options === 'boolean' ? options : !!options?.capture;
      const list = this.#listeners.get(String(type));
      const i = list ? list.findIndex((l) => l.callback === callback && l.capture === capture) : -1;
      if (i >= 0) {
        list[i].removed = true;
        list.splice(i, 1);
      }
    }
    // Listener exceptions do not stop the other listeners; the first one is rethrown
    // after all ran (a browser would report it), so that errors are never silent.
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'.");
      const stopped = dispatching(event, this);
      let failure = null;
      for (const listener of [...(this.#listeners.get(event.type) ?? [])]) {
        if (listener.removed) continue;
        if (listener.once) this.removeEventListener(event.type, listener.callback, { capture: listener.capture });
        try {
          if (typeof listener.callback === 'function') listener.callback.call(this, event);
          else listener.callback.handleEvent(event);
        } catch (error) {
          failure ??= { error };
        }
        if (stopped()) break;
      }
      dispatching(event, null);
      if (failure) throw failure.error;
      return !event.defaultPrevented;
    }
  }

  // `on<type>` attributes: one listener per target and type, calling the current handler.
  const handlers = new WeakMap();
  function defineHandler(Class, type, onSet = undefined) {
    Object.defineProperty(Class.prototype, 'on' + type, {
      configurable: true,
      enumerable: true,
      get() { return handlers.get(this)?.get(type)?.handler ?? null; },
      set(handler) {
        let byType = handlers.get(this);
        if (!byType) handlers.set(this, (byType = new Map()));
        let entry = byType.get(type);
        if (!entry) {
          const target = this;
          entry = { handler: null, listener(event) { return entry.handler?.call(target, event); } };
          byType.set(type, entry);
          this.addEventListener(type, entry.listener);
        }
        entry.handler = typeof handler === 'function' ? handler : null;
        onSet?.(this);
      },
    });
  }

  // --- AbortController, AbortSignal -----------------------------------------------
  let abortSignal;
  class AbortSignal extends EventTarget {
    #aborted = false; #reason = undefined;
    // As the DOM standard has it: a signal made by `any` (a dependent one) has source
    // signals, and each source its dependents, aborted with it, after its own event.
    #sources = undefined; #dependents = undefined;
    constructor(key) {
      if (key !== kCreate) throw new TypeError('Illegal constructor');
      super();
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    throwIfAborted() { if (this.#aborted) throw this.#reason; }
    static abort(reason = undefined) {
      const signal = new AbortSignal(kCreate);
      abortSignal(signal, reason);
      return signal;
    }
    static timeout(milliseconds) {
      const signal = new AbortSignal(kCreate);
      native.schedule(() => abortSignal(signal, new DOMException('The operation timed out.', 'TimeoutError')), Number(milliseconds));
      return signal;
    }
    static any(signals) {
      requireArgs(arguments, 1, 'AbortSignal.any');
      const signal = new AbortSignal(kCreate);
      const given = [];
      for (const source of signals) {
        if (!(typeof source === 'object' && source !== null && #aborted in source)) {
          throw new TypeError("Failed to execute 'any' on 'AbortSignal': an element is not an AbortSignal.");
        }
        given.push(source);
      }
      for (const source of given) {
        if (source.#aborted) {
          signal.#aborted = true;
          signal.#reason = source.#reason;
          return signal;
        }
      }
      signal.#sources = [];
      for (const source of given) {
        for (const root of source.#sources ?? [source]) {
          if (signal.#sources.includes(root)) continue;
          signal.#sources.push(root);
          (root.#dependents ??= new Set()).add(signal);
        }
      }
      return signal;
    }
    static {
      abortSignal = (signal, reason) => {
        if (signal.#aborted) return;
        signal.#aborted = true;
        signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
        const dependents = [];
        for (const dependent of signal.#dependents ?? []) {
          if (dependent.#aborted) continue;
          dependent.#aborted = true;
          dependent.#reason = signal.#reason;
          dependents.push(dependent);
        }
        signal.#dependents = undefined;
        // A listener that throws stops neither the other signals' events nor the
        // clean-up; the first error is thrown after.
        let failed = false, first;
        const fire = (target) => {
          try { target.dispatchEvent(new Event('abort')); } catch (e) { if (!failed) { failed = true; first = e; } }
        };
        fire(signal);
        for (const dependent of dependents) {
          // Aborted for good: its other sources need not keep it.
          for (const source of dependent.#sources) source.#dependents?.delete(dependent);
          fire(dependent);
        }
        if (failed) throw first;
      };
    }
  }
  defineHandler(AbortSignal, 'abort');

  class AbortController {
    #signal = new AbortSignal(kCreate);
    get signal() { return this.#signal; }
    abort(reason = undefined) { abortSignal(this.#signal, reason); }
  }

  // --- structuredClone ------------------------------------------------------------
  function structuredClone(value, options = undefined) {
    requireArgs(arguments, 1, 'structuredClone');
    if (options?.transfer?.length) {
      throw new DOMException('structuredClone: v8rs does not transfer objects (the transfer option)', 'DataCloneError');
    }
    return native.clone(value, cloneError, cloneBrands);
  }

  // --- MessageChannel -------------------------------------------------------------
  // Made on first use of any of the three (see defineLazy).
  // In parentheses, so that V8 compiles it with the prelude: the built-in snapshot then
  // holds its bytecode, and a first use in a new VM compiles nothing.
  const makeMessaging = (function makeMessaging() {
    class MessageEvent extends Event {
      #data; #origin; #lastEventId; #source; #ports;
      constructor(type, init = undefined) {
        super(type, init);
        this.#data = init?.data ?? null;
        this.#origin = String(init?.origin ?? '');
        this.#lastEventId = String(init?.lastEventId ?? '');
        this.#source = init?.source ?? null;
        this.#ports = Object.freeze([...(init?.ports ?? [])]);
      }
      get data() { return this.#data; }
      get origin() { return this.#origin; }
      get lastEventId() { return this.#lastEventId; }
      get source() { return this.#source; }
      get ports() { return this.#ports; }
    }

    let entangle;
    // Each message is delivered by a task of its own on the context's event loop.
    class MessagePort extends EventTarget {
      #other = null; #started = false; #closed = false; #queue = [];
      constructor(key) {
        if (key !== kCreate) throw new TypeError('Illegal constructor');
        super();
      }
      postMessage(message, transfer = undefined) {
        requireArgs(arguments, 1, 'postMessage');
        if (transfer?.length ?? transfer?.transfer?.length) {
          throw new DOMException('postMessage: v8rs does not transfer objects', 'DataCloneError');
        }
        const data = native.clone(message, cloneError, cloneBrands);
        const other = this.#other;
        if (other && !this.#closed) other.#enqueue(data);
      }
      start() {
        if (this.#started) return;
        this.#started = true;
        for (let i = 0; i < this.#queue.length; i++) this.#schedule();
      }
      close() {
        this.#closed = true;
        this.#queue.length = 0;
        if (this.#other) this.#other.#other = null;
        this.#other = null;
      }
      #enqueue(data) {
        if (this.#closed) return;
        this.#queue.push(data);
        if (this.#started) this.#schedule();
      }
      #schedule() {
        native.schedule(() => {
          if (this.#closed || this.#queue.length === 0) return;
          this.dispatchEvent(new MessageEvent('message', { data: this.#queue.shift() }));
        }, 0);
      }
      static {
        entangle = (a, b) => {
          a.#other = b;
          b.#other = a;
        };
      }
    }
    defineHandler(MessagePort, 'message', (port) => port.start());
    defineHandler(MessagePort, 'messageerror');

    class MessageChannel {
      #port1 = new MessagePort(kCreate);
      #port2 = new MessagePort(kCreate);
      constructor() { entangle(this.#port1, this.#port2); }
      get port1() { return this.#port1; }
      get port2() { return this.#port2; }
    }
    return { MessageChannel, MessagePort, MessageEvent };
  });

  // --- TextEncoder, TextDecoder ---------------------------------------------------
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return native.utf8Encode(String(input)); }
    encodeInto(source, destination) {
      requireArgs(arguments, 2, 'encodeInto');
      if (!(destination instanceof Uint8Array)) {
        throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
      }
      const [read, written] = native.utf8EncodeInto(String(source), destination);
      return { read, written };
    }
  }

  function bytesOf(input) {
    if (input === undefined) return new Uint8Array(0);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
      return new Uint8Array(input);
    }
    throw new TypeError("Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
  }

  // A decoder of another encoding than UTF-8 keeps its state between the chunks of a
  // stream in Rust, under a number; a decoder collected mid-stream gives it back.
  let lastDecoderId = 0;
  const decoderStates = new FinalizationRegistry((id) => native.decoderForget(id));

  class TextDecoder {
    #encoding; #fatal; #ignoreBOM; #pending = null; #started = false; #id = 0;
    constructor(label = 'utf-8', options = undefined) {
      // encoding_rs trims ASCII whitespace only, as the standard says.
      const encoding = native.encodingName(String(label));
      if (encoding === undefined) {
        throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid.`);
      }
      this.#encoding = encoding;
      this.#fatal = !!options?.fatal;
      this.#ignoreBOM = !!options?.ignoreBOM;
    }
    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = undefined) {
      const stream = !!options?.stream;
      const bytes = bytesOf(input);
      if (this.#encoding !== 'utf-8') return this.#decodeOther(bytes, stream);
      return this.#decodeUtf8(bytes, stream);
    }
    #decodeOther(bytes, stream) {
      if (stream && this.#id === 0) {
        this.#id = ++lastDecoderId;
        decoderStates.register(this, this.#id);
      }
      return native.decodeAs(this.#encoding, bytes, this.#fatal, this.#ignoreBOM, stream, this.#id);
    }
    #decodeUtf8(bytes, stream) {
      if (this.#pending) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      let text, pending;
      try {
        [text, pending] = native.utf8Decode(bytes, this.#fatal, stream);
      } catch (error) {
        this.#started = false;
        throw error;
      }
      if (pending) this.#pending = bytes.slice(bytes.length - pending);
      if (!this.#ignoreBOM && !this.#started && text.length > 0) {
        this.#started = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (!stream) this.#started = false;
      return text;
    }
  }

  // --- atob, btoa -----------------------------------------------------------------
  // V8's own Uint8Array.prototype.toBase64 and Uint8Array.fromBase64 do the coding (a
  // JavaScript loop of one string per group took 3.4 s and 60 times the memory for
  // 16 MB). They are looked up at each call: V8 adds them to each context made from a
  // snapshot, and a snapshot must not hold them. Where they are missing (the context a
  // snapshot's scripts run in) or replaced by something not callable, the coding is
  // done here, in chunks.
  const CHUNK = 0x8000; // bytes per String.fromCharCode call
  const { fromCharCode } = String;
  const applyFn = Reflect.apply;
  const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  function encodeBytes(bytes) {
    const out = [];
    for (let start = 0; start < bytes.length; start += CHUNK) {
      let part = '';
      for (let i = start, end = Math.min(start + CHUNK, bytes.length); i < end; i += 3) {
        const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
        part += BASE64_ALPHABET[(n >> 18) & 63] + BASE64_ALPHABET[(n >> 12) & 63] +
          (i + 1 < bytes.length ? BASE64_ALPHABET[(n >> 6) & 63] : '=') +
          (i + 2 < bytes.length ? BASE64_ALPHABET[n & 63] : '=');
      }
      out.push(part);
    }
    return out.join('');
  }

  function decodeText(s) { // `s`: checked, without padding
    const bytes = new Uint8Array(Math.floor((s.length * 3) / 4));
    let buffer = 0, bits = 0, at = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const value = c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 ? c + 4 : c === 43 ? 62 : 63;
      buffer = ((buffer << 6) | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[at++] = (buffer >> bits) & 0xff;
      }
    }
    return bytes;
  }

  function btoa(data) {
    requireArgs(arguments, 1, 'btoa');
    const s = String(data);
    if (/[^\0-\xff]/.test(s)) {
      throw new DOMException("Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.", 'InvalidCharacterError');
    }
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    const toBase64 = Uint8Array.prototype.toBase64;
    return typeof toBase64 === 'function' ? applyFn(toBase64, bytes, []) : encodeBytes(bytes);
  }

  // The forgiving-base64 decode of the HTML standard: the bytes, or null where `data`
  // is not base64 (for atob, and data: URLs in fetch.js).
  function base64Bytes(data) {
    let s = String(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) return null;
    const fromBase64 = Uint8Array.fromBase64;
    return typeof fromBase64 === 'function'
      ? applyFn(fromBase64, Uint8Array, [s, { lastChunkHandling: 'loose' }])
      : decodeText(s);
  }

  // Bytes as the string of their code points (the Encoding standard's isomorphic decode).
  function isomorphicDecode(bytes) {
    if (bytes.length <= CHUNK) return applyFn(fromCharCode, null, bytes);
    const out = [];
    for (let i = 0; i < bytes.length; i += CHUNK) out.push(applyFn(fromCharCode, null, bytes.subarray(i, i + CHUNK)));
    return out.join('');
  }

  function atob(data) {
    requireArgs(arguments, 1, 'atob');
    const bytes = base64Bytes(data);
    if (bytes === null) {
      throw new DOMException("Failed to execute 'atob': The string to be decoded is not correctly encoded.", 'InvalidCharacterError');
    }
    return isomorphicDecode(bytes);
  }

  // A version 4 UUID (RFC 9562), for crypto.randomUUID and blob: URLs.
  function randomUUID() {
    const b = native.randomFill(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // --- performance ----------------------------------------------------------------
  class Performance extends EventTarget {
    constructor(key) {
      if (key !== kCreate) throw new TypeError('Illegal constructor');
      super();
    }
    get timeOrigin() { return native.timeOrigin(); }
    now() { return native.now(); }
    toJSON() { return { timeOrigin: this.timeOrigin }; }
  }

  // --- crypto ---------------------------------------------------------------------
  const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
  const INTEGER_ARRAYS = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array']);

  class Crypto {
    constructor(key) {
      if (key !== kCreate) throw new TypeError('Illegal constructor');
    }
    getRandomValues(array) {
      requireArgs(arguments, 1, 'getRandomValues');
      if (!INTEGER_ARRAYS.has(typedArrayTag.call(array))) {
        throw new DOMException("Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '" +
          (typedArrayTag.call(array) ?? typeof array) + "', which is not an integer array type.", 'TypeMismatchError');
      }
      if (array.byteLength > 65536) {
        throw new DOMException(`Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536).`, 'QuotaExceededError');
      }
      return native.randomFill(array);
    }
    randomUUID() { return randomUUID(); }
  }
  // crypto.subtle: subtle.js, run on first use (see `subtleGroup` below).
  Object.defineProperty(Crypto.prototype, 'subtle', {
    get() {
      if (!(this instanceof Crypto)) throw new TypeError('Illegal invocation');
      return subtleGroup().subtle;
    },
    enumerable: true,
    configurable: true,
  });

  // --- blob: URLs -----------------------------------------------------------------
  // This context's blob URL store (the File API's): URL.createObjectURL adds a Blob under
  // a new `blob:null/<uuid>` URL (the context has an opaque origin), revokeObjectURL
  // removes it, and fetch.js serves `fetch(url)` from it. An entry keeps its Blob alive
  // until it is revoked or the context goes. `isBlob` is fetch.js's brand check, set when
  // its group is made (no Blob exists before).
  const blobURLs = { entries: new Map(), isBlob: (value) => false };
  const withoutFragment = (href) => {
    const hash = href.indexOf('#');
    return hash < 0 ? href : href.slice(0, hash);
  };

  // --- URL, URLSearchParams -------------------------------------------------------
  // Made on first use (see defineLazy): by a global, or by fetch.js.
  const makeUrl = (function makeUrl() { // (in parentheses: see makeMessaging)
    const HREF = 0, ORIGIN = 1, PROTOCOL = 2, USERNAME = 3, PASSWORD = 4, HOST = 5, HOSTNAME = 6,
      PORT = 7, PATHNAME = 8, SEARCH = 9, HASH = 10;
    let bindParams, reparseParams, setQuery;

    class URLSearchParams {
      #list = [];
      #url = null;
      constructor(init = '') {
        if (typeof init === 'object' && init !== null) {
          if (typeof init[Symbol.iterator] === 'function') {
            for (const pair of init) {
              const items = [...pair];
              if (items.length !== 2) {
                throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
              }
              this.#list.push([usv(items[0]), usv(items[1])]);
            }
          } else {
            for (const key of Object.keys(init)) this.#list.push([usv(key), usv(init[key])]);
          }
        } else {
          const query = usv(init);
          this.#parse(query.startsWith('?') ? query.slice(1) : query);
        }
      }
      #parse(query) {
        const flat = native.formParse(query);
        this.#list = [];
        for (let i = 0; i < flat.length; i += 2) this.#list.push([flat[i], flat[i + 1]]);
      }
      #update() { if (this.#url) setQuery(this.#url, this.toString()); }
      get size() { return this.#list.length; }
      append(name, value) {
        requireArgs(arguments, 2, 'append');
        this.#list.push([usv(name), usv(value)]);
        this.#update();
      }
      delete(name, value = undefined) {
        requireArgs(arguments, 1, 'delete');
        name = usv(name);
        const v = value === undefined ? undefined : usv(value);
        this.#list = this.#list.filter(([n, x]) => !(n === name && (v === undefined || x === v)));
        this.#update();
      }
      get(name) {
        requireArgs(arguments, 1, 'get');
        name = usv(name);
        return this.#list.find(([n]) => n === name)?.[1] ?? null;
      }
      getAll(name) {
        requireArgs(arguments, 1, 'getAll');
        name = usv(name);
        return this.#list.filter(([n]) => n === name).map(([, v]) => v);
      }
      has(name, value = undefined) {
        requireArgs(arguments, 1, 'has');
        name = usv(name);
        const v = value === undefined ? undefined : usv(value);
        return this.#list.some(([n, x]) => n === name && (v === undefined || x === v));
      }
      set(name, value) {
        requireArgs(arguments, 2, 'set');
        name = usv(name);
        value = usv(value);
        const i = this.#list.findIndex(([n]) => n === name);
        if (i < 0) this.#list.push([name, value]);
        else {
          this.#list[i][1] = value;
          this.#list = this.#list.filter(([n], j) => j <= i || n !== name);
        }
        this.#update();
      }
      sort() {
        // Stable, by UTF-16 code units, as the standard says.
        this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        this.#update();
      }
      forEach(callback, thisArg = undefined) {
        for (let i = 0; i < this.#list.length; i++) {
          const [name, value] = this.#list[i];
          callback.call(thisArg, value, name, this);
        }
      }
      *entries() { for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]]; }
      *keys() { for (const [name] of this.entries()) yield name; }
      *values() { for (const [, value] of this.entries()) yield value; }
      [Symbol.iterator]() { return this.entries(); }
      toString() { return native.formSerialize(this.#list.flat()); }
      static {
        bindParams = (params, url) => { params.#url = url; };
        reparseParams = (params, query) => params.#parse(query);
      }
    }

    class URL {
      #parts;
      #params = null;
      constructor(url, base = undefined) {
        requireArgs(arguments, 1, 'URL');
        const parts = native.urlParse(usv(url), base === undefined ? undefined : usv(base));
        if (parts === null) throw new TypeError(`Failed to construct 'URL': Invalid URL '${url}'`);
        this.#parts = parts;
      }
      static canParse(url, base = undefined) {
        return native.urlParse(usv(url), base === undefined ? undefined : usv(base)) !== null;
      }
      static parse(url, base = undefined) {
        try {
          return new URL(url, base);
        } catch {
          return null;
        }
      }
      #set(part, value) {
        this.#parts = native.urlSet(this.#parts[HREF], part, usv(value));
        if (this.#params) reparseParams(this.#params, this.#parts[SEARCH].slice(1));
      }
      get href() { return this.#parts[HREF]; }
      set href(value) {
        const parts = native.urlParse(usv(value));
        if (parts === null) throw new TypeError(`Failed to set the 'href' property on 'URL': Invalid URL '${value}'`);
        this.#parts = parts;
        if (this.#params) reparseParams(this.#params, this.#parts[SEARCH].slice(1));
      }
      get origin() { return this.#parts[ORIGIN]; }
      get protocol() { return this.#parts[PROTOCOL]; }
      set protocol(value) { this.#set('protocol', value); }
      get username() { return this.#parts[USERNAME]; }
      set username(value) { this.#set('username', value); }
      get password() { return this.#parts[PASSWORD]; }
      set password(value) { this.#set('password', value); }
      get host() { return this.#parts[HOST]; }
      set host(value) { this.#set('host', value); }
      get hostname() { return this.#parts[HOSTNAME]; }
      set hostname(value) { this.#set('hostname', value); }
      get port() { return this.#parts[PORT]; }
      set port(value) { this.#set('port', value); }
      get pathname() { return this.#parts[PATHNAME]; }
      set pathname(value) { this.#set('pathname', value); }
      get search() { return this.#parts[SEARCH]; }
      set search(value) { this.#set('search', value); }
      get hash() { return this.#parts[HASH]; }
      set hash(value) { this.#set('hash', value); }
      get searchParams() {
        if (!this.#params) {
          this.#params = new URLSearchParams(this.#parts[SEARCH]);
          bindParams(this.#params, this);
        }
        return this.#params;
      }
      toString() { return this.#parts[HREF]; }
      toJSON() { return this.#parts[HREF]; }
      static createObjectURL(obj) {
        requireArgs(arguments, 1, 'createObjectURL');
        if (!blobURLs.isBlob(obj)) {
          throw new TypeError("Failed to execute 'createObjectURL' on 'URL': parameter 1 is not of type 'Blob'.");
        }
        const url = `blob:null/${randomUUID()}`;
        blobURLs.entries.set(url, obj);
        return url;
      }
      static revokeObjectURL(url) {
        requireArgs(arguments, 1, 'revokeObjectURL');
        const parts = native.urlParse(usv(url), undefined);
        // Only the exact URL (a fragment too) is revoked, as the File API says.
        if (parts !== null) blobURLs.entries.delete(parts[HREF]);
      }
      static {
        setQuery = (url, query) => {
          url.#parts = native.urlSet(url.#parts[HREF], 'search', query);
        };
      }
    }
    return { URL, URLSearchParams };
  });

  // --- streams (loaded on first use) ----------------------------------------------
  let streams = null;
  // The bundle's classes carry minified names: each gets the one it is published under.
  const namedStreams = () => {
    const group = native.loadStreams();
    for (const [name, Class] of Object.entries(group)) {
      Object.defineProperty(Class, 'name', { value: name, configurable: true });
    }
    return group;
  };
  const loadStreams = () => (streams ??= branded(namedStreams)());

  function makeTextDecoderStream() {
    const { TransformStream } = loadStreams();
    return class TextDecoderStream {
      #decoder; #transform;
      constructor(label = 'utf-8', options = undefined) {
        const decoder = (this.#decoder = new TextDecoder(label, options));
        this.#transform = new TransformStream({
          transform(chunk, controller) {
            const text = decoder.decode(chunk, { stream: true });
            if (text) controller.enqueue(text);
          },
          flush(controller) {
            const text = decoder.decode();
            if (text) controller.enqueue(text);
          },
        });
      }
      get encoding() { return this.#decoder.encoding; }
      get fatal() { return this.#decoder.fatal; }
      get ignoreBOM() { return this.#decoder.ignoreBOM; }
      get readable() { return this.#transform.readable; }
      get writable() { return this.#transform.writable; }
    };
  }

  function makeTextEncoderStream() {
    const { TransformStream } = loadStreams();
    return class TextEncoderStream {
      #transform;
      constructor() {
        let high = '';
        this.#transform = new TransformStream({
          transform(chunk, controller) {
            let text = high + String(chunk);
            high = '';
            const last = text.charCodeAt(text.length - 1);
            if (last >= 0xd800 && last <= 0xdbff) {
              high = text.slice(-1);
              text = text.slice(0, -1);
            }
            if (text) controller.enqueue(native.utf8Encode(text));
          },
          flush(controller) {
            if (high) controller.enqueue(native.utf8Encode(high));
          },
        });
      }
      get encoding() { return 'utf-8'; }
      get readable() { return this.#transform.readable; }
      get writable() { return this.#transform.writable; }
    };
  }

  // CompressionStream and DecompressionStream (the Compression Streams standard): each
  // stream's deflate state is native, by the id compressionOpen gave it, closed when the
  // stream ends, errors, is cancelled or its transformer is collected. Each native call
  // makes one piece of output (64 KiB or so), so a small input that inflates to a lot
  // is enqueued piece by piece.
  function makeCompressionStreams() {
    const { TransformStream } = loadStreams();
    const collected = new FinalizationRegistry((slot) => {
      if (slot.id) native.compressionClose(slot.id);
    });
    const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
    const abByteLength = getter(ArrayBuffer.prototype, 'byteLength');
    const typedBuffer = getter(Object.getPrototypeOf(Uint8Array.prototype), 'buffer');
    const dataViewBuffer = getter(DataView.prototype, 'buffer');
    // An ArrayBuffer (not a SharedArrayBuffer: the built-in getter throws on one).
    const unshared = (buffer) => {
      try {
        abByteLength.call(buffer);
        return true;
      } catch {
        return false;
      }
    };
    const abView = (chunk, what) => {
      if (ArrayBuffer.isView(chunk)) {
        let buffer;
        try {
          buffer = typedBuffer.call(chunk);
        } catch {
          buffer = dataViewBuffer.call(chunk);
        }
        if (unshared(buffer)) return chunk;
      } else if (unshared(chunk)) {
        try {
          return new Uint8Array(chunk);
        } catch {} // a detached ArrayBuffer
      }
      throw new TypeError(`Failed to execute 'write' on '${what}': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`);
    };
    // The native stream opens at the first chunk or at the end, so streams made and
    // never used hold nothing (a loop of `new CompressionStream()` meets no limit).
    function transformer(compress, format, what) {
      const slot = { id: 0 };
      const open = () => slot.id || (slot.id = native.compressionOpen(compress, format));
      const close = () => {
        if (slot.id) native.compressionClose(slot.id);
      };
      // Enqueues the pieces `step` makes ([output, last]) up to the last.
      const run = (controller, step) => {
        for (;;) {
          const [out, last] = step();
          if (out.byteLength) controller.enqueue(out);
          if (last) return;
        }
      };
      // A transform or flush that throws errors the stream without calling `cancel`:
      // the native stream is closed here (a bad chunk after good ones included).
      const closing = (f) => (arg, controller) => {
        try {
          f(arg, controller);
        } catch (e) {
          close();
          throw e;
        }
      };
      const self = {
        transform: closing((chunk, controller) => {
          const view = abView(chunk, what);
          const id = open();
          let at = 0;
          run(controller, () => {
            const [out, used, more] = native.compressionWrite(id, view, at);
            at += used;
            return [out, !more];
          });
        }),
        flush: closing((controller) => {
          const id = open();
          run(controller, () => {
            const [out, done] = native.compressionFinish(id);
            return [out, done === 1];
          });
        }),
        cancel: close,
      };
      collected.register(self, slot);
      return self;
    }
    function make(compress, what) {
      return class {
        #transform;
        constructor(format) {
          requireArgs(arguments, 1, what);
          const known = ['deflate', 'deflate-raw', 'gzip'];
          format = String(format);
          if (!known.includes(format)) {
            throw new TypeError(`Failed to construct '${what}': The provided value '${format}' is not a valid enum value of type CompressionFormat.`);
          }
          this.#transform = new TransformStream(transformer(compress, format, what));
        }
        get readable() { return this.#transform.readable; }
        get writable() { return this.#transform.writable; }
        get [Symbol.toStringTag]() { return what; }
      };
    }
    const CompressionStream = make(true, 'CompressionStream');
    const DecompressionStream = make(false, 'DecompressionStream');
    for (const [name, Class] of [['CompressionStream', CompressionStream], ['DecompressionStream', DecompressionStream]]) {
      Object.defineProperty(Class, 'name', { value: name, configurable: true });
    }
    return { CompressionStream, DecompressionStream };
  }

  // --- publish --------------------------------------------------------------------
  if (features & EVENTS) {
    define('DOMException', DOMException);
    define('Event', Event);
    define('CustomEvent', CustomEvent);
    define('EventTarget', EventTarget);
    define('AbortController', AbortController);
    define('AbortSignal', AbortSignal);
  }
  if (features & STRUCTURED_CLONE) define('structuredClone', structuredClone);
  if (features & MESSAGE_CHANNEL) defineLazy(['MessageChannel', 'MessagePort', 'MessageEvent'], once(branded(makeMessaging)));
  if (features & ENCODING) {
    define('TextEncoder', TextEncoder);
    define('TextDecoder', TextDecoder);
  }
  if (features & BASE64) {
    define('atob', atob);
    define('btoa', btoa);
  }
  if (features & PERFORMANCE) {
    define('Performance', Performance);
    define('performance', new Performance(kCreate));
  }
  if (features & CRYPTO) {
    define('Crypto', Crypto);
    define('crypto', new Crypto(kCreate));
  }
  for (const Class of [Event, CustomEvent, EventTarget, AbortController, AbortSignal, TextEncoder, TextDecoder,
    Performance, Crypto]) {
    brandClass(Class);
  }
  const urlGroup = once(branded(makeUrl));
  if (features & URL_) defineLazy(['URL', 'URLSearchParams'], urlGroup);
  if (features & STREAMS) {
    defineLazy(['ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
      'ReadableStreamDefaultController', 'ReadableByteStreamController', 'ReadableStreamBYOBRequest',
      'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
      'TransformStream', 'TransformStreamDefaultController', 'ByteLengthQueuingStrategy',
      'CountQueuingStrategy'], loadStreams);
    if (features & ENCODING) {
      defineLazy(['TextDecoderStream', 'TextEncoderStream'], once(branded(() => ({
        TextDecoderStream: makeTextDecoderStream(),
        TextEncoderStream: makeTextEncoderStream(),
      }))));
    }
    defineLazy(['CompressionStream', 'DecompressionStream'], once(branded(makeCompressionStreams)));
  }
  // For the groups loaded on first use (subtle.js, fetch.js).
  const internals = {
    DOMException, Crypto, kCreate, requireArgs, loadStreams, AbortSignal, TextDecoder, brandClass,
    base64Bytes, isomorphicDecode, blobURLs, withoutFragment,
    get URL() { return urlGroup().URL; },
    get URLSearchParams() { return urlGroup().URLSearchParams; },
  };
  // The groups' scripts are compiled now (each is one parenthesized function, which V8
  // compiles at once), so that the built-in snapshot holds their bytecode; they run on
  // first use.
  const subtleInstall = features & CRYPTO ? native.loadSubtle() : undefined;
  const subtleGroup = once(branded(() => subtleInstall(native, internals)));
  if (features & CRYPTO) defineLazy(['SubtleCrypto', 'CryptoKey'], subtleGroup);
  if (features & FETCH) {
    const fetchInstall = native.loadFetch();
    defineLazy(['Headers', 'Request', 'Response', 'Blob', 'File', 'FormData', 'fetch'],
      once(branded(() => fetchInstall(native, internals))));
  }
  if (features & CONSOLE) {
    // Over V8's own console, which console.js builds on.
    const v8Console = global.console;
    const consoleInstall = native.loadConsole();
    lazyGlobals(global, ['console'], once(() => ({ console: consoleInstall(native, v8Console) })));
  }
  return brandClass; // kept by the context, for the DOM group's classes (web/mod.rs)
});
