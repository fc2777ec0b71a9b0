// The Node group of a context (`node/mod.rs`): `process`, `Buffer`, `global`,
// `setImmediate`/`clearImmediate`, and `require` for CommonJS (and ES modules) from the
// context's modules folder, with the built-in modules `buffer`, `events`, `util`,
// `path`, `process`, `timers`, `url`. Files are found and read by the natives, in Rust,
// under that folder only. The completion value is a function of the natives and of
// what the embedder gave (`info`); it returns the runner of the `nextTick` queue.
(function (native, info) {
  'use strict';
  const global = globalThis;
  const define = (object, name, value) => {
    if (!Object.prototype.hasOwnProperty.call(object, name)) {
      Object.defineProperty(object, name, { value, writable: true, configurable: true, enumerable: false });
    }
  };
  const lazyGlobal = (name, load) => {
    if (Object.prototype.hasOwnProperty.call(global, name)) return;
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = load();
        Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
        return value;
      },
      set(value) {
        Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
      },
    });
  };
  const codedError = (Kind, code, message) => {
    const error = new Kind(message);
    Object.defineProperty(error, 'code', { value: code, writable: true, configurable: true, enumerable: true });
    return error;
  };
  const describe = (value) => {
    if (value === null || value === undefined) return ` Received ${value}`;
    if (typeof value === 'function') return ` Received function ${value.name}`;
    if (typeof value === 'object') return ` Received an instance of ${value.constructor?.name ?? 'Object'}`;
    let shown = typeof value === 'string' ? `'${value}'` : String(value);
    if (shown.length > 28) shown = shown.slice(0, 25) + '...';
    return ` Received type ${typeof value} (${shown})`;
  };
  const checkFunction = (value, name) => {
    if (typeof value !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `The "${name}" argument must be of type function.${describe(value)}`);
    }
  };

  // ---- a small emitter for `process` (the full `events` loads on first `require`).
  const listeners = new Map();
  const emitter = {
    on(name, listener) { checkFunction(listener, 'listener'); (listeners.get(name) ?? listeners.set(name, []).get(name)).push(listener); return this; },
    once(name, listener) {
      checkFunction(listener, 'listener');
      const once = (...args) => { this.removeListener(name, once); return listener.apply(this, args); };
      once.listener = listener;
      return this.on(name, once);
    },
    removeListener(name, listener) {
      const list = listeners.get(name);
      if (list) {
        const at = list.findIndex((l) => l === listener || l.listener === listener);
        if (at >= 0) list.splice(at, 1);
      }
      return this;
    },
    removeAllListeners(name) { if (name === undefined) listeners.clear(); else listeners.delete(name); return this; },
    emit(name, ...args) {
      const list = listeners.get(name);
      if (!list || list.length === 0) return false;
      for (const listener of [...list]) listener.apply(this, args);
      return true;
    },
    listeners(name) { return (listeners.get(name) ?? []).map((l) => l.listener ?? l); },
    listenerCount(name) { return (listeners.get(name) ?? []).length; },
    eventNames() { return [...listeners.keys()].filter((k) => listeners.get(k).length > 0); },
    setMaxListeners() { return this; },
    getMaxListeners() { return 10; },
  };
  emitter.addListener = emitter.on;
  emitter.off = emitter.removeListener;
  emitter.prependListener = emitter.on;
  emitter.prependOnceListener = emitter.once;

  // ---- process.nextTick: run by the realm before its microtasks (realm.rs).
  const ticks = [];
  const reportUncaught = (error) => {
    if (emitter.emit('uncaughtException', error, 'uncaughtException')) return;
    try {
      console.error(error);
    } catch {
      // no console: the error is dropped
    }
  };
  function runTicks() {
    while (ticks.length > 0) {
      const [callback, args] = ticks.shift();
      try {
        callback(...args);
      } catch (error) {
        reportUncaught(error);
      }
    }
  }

  // ---- process.
  const hrtimeBigint = () => native.hrtime();
  const hrtime = (previous) => {
    const now = native.hrtime();
    let seconds = Number(now / 1000000000n);
    let nanos = Number(now % 1000000000n);
    if (previous !== undefined) {
      if (!Array.isArray(previous)) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
          `The "time" argument must be an instance of Array.${describe(previous)}`);
      }
      seconds -= previous[0];
      nanos -= previous[1];
      if (nanos < 0) { seconds -= 1; nanos += 1e9; }
    }
    return [seconds, nanos];
  };
  hrtime.bigint = hrtimeBigint;
  const started = native.hrtime();
  class ProcessExit extends Error {}
  Object.defineProperty(ProcessExit.prototype, 'name', { value: 'ProcessExit', configurable: true, writable: true });
  const writer = (level) => ({
    isTTY: false,
    writable: true,
    columns: 80,
    write(chunk, encoding, callback) {
      let text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      if (text.endsWith('\n')) text = text.slice(0, -1);
      console[level](text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    },
    on() { return this; },
    once() { return this; },
    end() {},
  });
  const env = Object.create(null);
  for (const [key, value] of info.env) env[key] = value;
  const process = Object.setPrototypeOf({
    title: 'node',
    version: info.version,
    versions: Object.freeze({ node: info.version.slice(1), v8: info.v8, v8rs: info.v8rs, modules: '115' }),
    release: Object.freeze({ name: 'node', lts: 'Iron' }),
    platform: info.platform,
    arch: info.arch,
    argv: ['node'],
    argv0: 'node',
    execArgv: [],
    execPath: 'node',
    pid: 1,
    ppid: 0,
    env,
    exitCode: undefined,
    config: Object.freeze({ target_defaults: {}, variables: {} }),
    features: Object.freeze({ inspector: false, ipv6: false, tls: false, cached_builtins: true, require_module: true }),
    stdout: writer('log'),
    stderr: writer('error'),
    cwd: () => native.root() ?? '/',
    chdir() {
      throw codedError(Error, 'ERR_V8RS_UNAVAILABLE', 'process.chdir() is not available in v8rs');
    },
    umask: () => 0o22,
    uptime: () => Number(native.hrtime() - started) / 1e9,
    hrtime,
    memoryUsage: Object.assign(() => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }), { rss: () => 0 }),
    nextTick(callback, ...args) {
      checkFunction(callback, 'callback');
      ticks.push([callback, args]);
      native.tick();
    },
    emitWarning(warning, type, code) {
      let name = 'Warning';
      let detail;
      if (type !== null && typeof type === 'object' && !Array.isArray(type)) {
        ({ type: name = 'Warning', code, detail } = type);
      } else if (typeof type === 'string') {
        name = type;
      }
      if (typeof warning === 'string') {
        warning = Object.assign(new Error(warning), { name });
        if (code !== undefined) warning.code = code;
        if (detail !== undefined) warning.detail = detail;
      } else if (!(warning instanceof Error)) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
          `The "warning" argument must be of type string or an instance of Error.${describe(warning)}`);
      }
      if (warning.name === 'DeprecationWarning' && process.noDeprecation) return;
      process.nextTick(() => {
        if (emitter.emit('warning', warning)) return;
        const prefix = warning.code !== undefined ? `[${warning.code}] ` : '';
        let text = `(node:${process.pid}) ${prefix}${warning.name}: ${warning.message}`;
        if (typeof warning.detail === 'string') text += `\n${warning.detail}`;
        console.warn(text);
      });
    },
    exit(code) {
      if (code !== undefined) process.exitCode = code;
      const status = process.exitCode ?? 0;
      const error = new ProcessExit(`process.exit(${status}) was called: v8rs ends the call instead of the process`);
      error.code = 'ERR_V8RS_PROCESS_EXIT';
      error.exitCode = status;
      throw error;
    },
    abort() {
      process.exit(134);
    },
    binding(name) {
      throw codedError(Error, 'ERR_V8RS_UNAVAILABLE', `process.binding('${name}') is not available in v8rs`);
    },
  }, emitter);
  Object.defineProperty(process, Symbol.toStringTag, { value: 'process', configurable: true });

  // ---- setImmediate: tasks on the context's event loop, after what is due now.
  class Immediate {
    constructor(id) { this._id = id; }
    ref() { return this; }
    unref() { return this; }
    hasRef() { return true; }
  }
  function setImmediate(callback, ...args) {
    checkFunction(callback, 'callback');
    return new Immediate(native.immediate(callback, ...args));
  }
  function clearImmediate(immediate) {
    if (immediate instanceof Immediate) native.clearTask(immediate._id);
  }

  // ---- built-in modules.
  let bufferModule;
  const loadBuffer = () => {
    if (bufferModule === undefined) {
      bufferModule = native.builtin('buffer');
      // Node's own answers where the package has none.
      bufferModule.constants = { MAX_LENGTH: bufferModule.kMaxLength, MAX_STRING_LENGTH: 0x1fffffe8 };
      if (typeof global.atob === 'function') { bufferModule.atob = global.atob; bufferModule.btoa = global.btoa; }
      if (typeof global.Blob === 'function') bufferModule.Blob = global.Blob;
    }
    return bufferModule;
  };
  let utilModule;
  const loadUtil = () => {
    if (utilModule !== undefined) return utilModule;
    const inspecting = console[Symbol.for('v8rs.console.util')];
    if (typeof inspecting !== 'function') {
      throw codedError(Error, 'ERR_V8RS_UNAVAILABLE', "require('util') needs the console web group in v8rs");
    }
    const { inspect, format, formatWithOptions, stripVTControlCharacters } = inspecting();
    const kCustom = Symbol.for('nodejs.util.promisify.custom');
    function promisify(original) {
      checkFunction(original, 'original');
      if (original[kCustom]) return original[kCustom];
      function fn(...args) {
        return new Promise((resolve, reject) => {
          original.call(this, ...args, (error, ...values) => {
            if (error) reject(error);
            else resolve(values.length > 1 ? values : values[0]);
          });
        });
      }
      Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
      Object.defineProperty(fn, kCustom, { value: fn, configurable: true });
      return Object.defineProperties(fn, Object.getOwnPropertyDescriptors(original));
    }
    promisify.custom = kCustom;
    function callbackify(original) {
      checkFunction(original, 'original');
      return function (...args) {
        const callback = args.pop();
        checkFunction(callback, 'last argument');
        original.apply(this, args).then((value) => process.nextTick(callback, null, value),
          (reason) => process.nextTick(callback, reason || Object.assign(new Error('Promise was rejected with a falsy value'), { reason })));
      };
    }
    function inherits(ctor, superCtor) {
      if (ctor === undefined || ctor === null) throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "ctor" argument must be of type function.${describe(ctor)}`);
      if (superCtor === undefined || superCtor === null) throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "superCtor" argument must be of type function.${describe(superCtor)}`);
      if (superCtor.prototype === undefined) throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "superCtor.prototype" property must be of type object.${describe(superCtor.prototype)}`);
      Object.defineProperty(ctor, 'super_', { value: superCtor, writable: true, configurable: true });
      Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
    }
    function deprecate(fn, message, code) {
      let warned = false;
      return function (...args) {
        if (!warned) { warned = true; process.emitWarning(message, 'DeprecationWarning', code); }
        return new.target ? Reflect.construct(fn, args, new.target) : fn.apply(this, args);
      };
    }
    const tag = (value) => Object.prototype.toString.call(value).slice(8, -1);
    const typedArray = Object.getPrototypeOf(Uint8Array);
    const typedTag = (value) => (ArrayBuffer.isView(value) && !(value instanceof DataView) ? value[Symbol.toStringTag] : undefined);
    const types = {
      isPromise: (v) => v instanceof Promise || tag(v) === 'Promise',
      isRegExp: (v) => tag(v) === 'RegExp',
      isDate: (v) => tag(v) === 'Date',
      isMap: (v) => tag(v) === 'Map',
      isSet: (v) => tag(v) === 'Set',
      isWeakMap: (v) => tag(v) === 'WeakMap',
      isWeakSet: (v) => tag(v) === 'WeakSet',
      isNativeError: (v) => v instanceof Error || tag(v) === 'Error',
      isAsyncFunction: (v) => typeof v === 'function' && tag(v) === 'AsyncFunction' || tag(v) === 'AsyncGeneratorFunction',
      isGeneratorFunction: (v) => typeof v === 'function' && (tag(v) === 'GeneratorFunction' || tag(v) === 'AsyncGeneratorFunction'),
      isGeneratorObject: (v) => tag(v) === 'Generator',
      isArrayBuffer: (v) => v instanceof ArrayBuffer,
      isSharedArrayBuffer: (v) => typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer,
      isAnyArrayBuffer: (v) => v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer),
      isArrayBufferView: (v) => ArrayBuffer.isView(v),
      isDataView: (v) => v instanceof DataView,
      isTypedArray: (v) => v instanceof typedArray,
      isUint8Array: (v) => typedTag(v) === 'Uint8Array',
      isUint8ClampedArray: (v) => typedTag(v) === 'Uint8ClampedArray',
      isUint16Array: (v) => typedTag(v) === 'Uint16Array',
      isUint32Array: (v) => typedTag(v) === 'Uint32Array',
      isInt8Array: (v) => typedTag(v) === 'Int8Array',
      isInt16Array: (v) => typedTag(v) === 'Int16Array',
      isInt32Array: (v) => typedTag(v) === 'Int32Array',
      isFloat32Array: (v) => typedTag(v) === 'Float32Array',
      isFloat64Array: (v) => typedTag(v) === 'Float64Array',
      isBigInt64Array: (v) => typedTag(v) === 'BigInt64Array',
      isBigUint64Array: (v) => typedTag(v) === 'BigUint64Array',
      isBoxedPrimitive: (v) => ['Number', 'String', 'Boolean', 'BigInt', 'Symbol'].includes(tag(v)) && typeof v === 'object',
      isSymbolObject: (v) => typeof v === 'object' && tag(v) === 'Symbol',
      isProxy: () => false,
    };
    utilModule = {
      inspect, format, formatWithOptions, stripVTControlCharacters, promisify, callbackify, inherits, deprecate, types,
      isDeepStrictEqual: undefined,
      isArray: Array.isArray,
      TextEncoder: global.TextEncoder,
      TextDecoder: global.TextDecoder,
      debuglog: () => Object.assign(() => {}, { enabled: false }),
      toUSVString: (s) => String(s).toWellFormed(),
    };
    delete utilModule.isDeepStrictEqual;
    return utilModule;
  };
  const timersModule = () => ({
    setTimeout: global.setTimeout, clearTimeout: global.clearTimeout,
    setInterval: global.setInterval, clearInterval: global.clearInterval,
    setImmediate, clearImmediate,
  });
  // string_decoder, as Node's: multi-byte characters split between writes are kept for
  // the next one (utf8 through TextDecoder, utf16le by code unit as Node does — a lone
  // surrogate stays one — and base64 in 3-byte groups); a BOM is text.
  const stringDecoderModule = () => {
    const ENCODINGS = {
      utf8: 'utf8', 'utf-8': 'utf8', ucs2: 'utf16le', 'ucs-2': 'utf16le', utf16le: 'utf16le',
      'utf-16le': 'utf16le', latin1: 'latin1', binary: 'latin1', base64: 'base64',
      base64url: 'base64url', hex: 'hex', ascii: 'ascii',
    };
    const empty = new Uint8Array(0);
    const joined = (a, b) => {
      if (a.length === 0) return b;
      const all = new Uint8Array(a.length + b.length);
      all.set(a);
      all.set(b, a.length);
      return all;
    };
    const units = (bytes, end) => {
      let text = '';
      for (let i = 0; i < end; i += 8192) {
        const codes = [];
        for (let j = i; j < Math.min(i + 8192, end); j += 2) codes.push(bytes[j] | (bytes[j + 1] << 8));
        text += String.fromCharCode(...codes);
      }
      return text;
    };
    class StringDecoder {
      #encoding; #decoder; #pending = empty;
      constructor(encoding = undefined) {
        const key = encoding === undefined || encoding === null || encoding === '' ? 'utf8'
          : typeof encoding === 'string' ? encoding.toLowerCase() : undefined;
        const name = key !== undefined && Object.hasOwn(ENCODINGS, key) ? ENCODINGS[key] : undefined;
        if (name === undefined) {
          throw codedError(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${String(encoding)}`);
        }
        this.#encoding = name;
        if (name === 'utf8') {
          if (typeof global.TextDecoder !== 'function') {
            throw codedError(Error, 'ERR_V8RS_UNAVAILABLE', "require('string_decoder') needs the encoding web group in v8rs");
          }
          this.#decoder = new global.TextDecoder('utf-8', { ignoreBOM: true });
        }
      }
      get encoding() { return this.#encoding; }
      write(buf) {
        if (typeof buf === 'string') return buf;
        if (!ArrayBuffer.isView(buf)) {
          throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
            `The "buf" argument must be an instance of Buffer, TypedArray, or DataView.${describe(buf)}`);
        }
        if (buf.byteLength === 0) return ''; // (also a view of a detached buffer)
        const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        if (this.#decoder) return this.#decoder.decode(bytes, { stream: true });
        if (this.#encoding === 'utf16le') {
          const all = joined(this.#pending, bytes);
          let end = all.length & ~1;
          // A high surrogate last is kept for its pair (when no odd byte follows it).
          if (end === all.length && end > 0 && (all[end - 1] & 0xfc) === 0xd8) end -= 2;
          this.#pending = all.slice(end);
          return units(all, end);
        }
        if (this.#encoding !== 'base64' && this.#encoding !== 'base64url') return this.#text(bytes);
        const all = joined(this.#pending, bytes);
        const whole = all.length - (all.length % 3);
        this.#pending = all.slice(whole);
        return this.#text(all.subarray(0, whole));
      }
      end(buf = undefined) {
        let text = buf === undefined ? '' : this.write(buf);
        if (this.#decoder) text += this.#decoder.decode();
        else if (this.#pending.length) {
          // utf16le: a kept high surrogate is text, an odd last byte is dropped.
          if (this.#encoding === 'utf16le') text += units(this.#pending, this.#pending.length & ~1);
          else text += this.#text(this.#pending);
          this.#pending = empty;
        }
        return text;
      }
      #text(bytes) {
        const { Buffer } = loadBuffer();
        if (this.#encoding !== 'base64url') return Buffer.from(bytes).toString(this.#encoding);
        // (the Buffer package has no base64url)
        return Buffer.from(bytes).toString('base64').replace(/[+/=]/g, (c) => (c === '+' ? '-' : c === '/' ? '_' : ''));
      }
    }
    return { StringDecoder };
  };
  const once = (load) => { let loaded; return () => (loaded ??= load()); };
  const BUILTINS = {
    string_decoder: once(stringDecoderModule),
    buffer: loadBuffer,
    events: once(() => {
      const events = native.builtin('events');
      events.EventEmitter ??= events;
      return events;
    }),
    util: loadUtil,
    'util/types': () => loadUtil().types,
    sys: loadUtil,
    process: () => process,
    path: once(() => {
      const path = native.builtin('path');
      path.posix ??= path;
      return path;
    }),
    'path/posix': () => BUILTINS.path(),
    timers: once(timersModule),
    url: once(() => ({ URL: global.URL, URLSearchParams: global.URLSearchParams })),
  };
  const NODE_BUILTINS = new Set(info.builtins);
  const isBuiltin = (request) => {
    if (typeof request !== 'string') return false;
    const name = request.startsWith('node:') ? request.slice(5) : request;
    return Object.prototype.hasOwnProperty.call(BUILTINS, name) || NODE_BUILTINS.has(name);
  };
  const builtin = (request) => {
    const name = request.startsWith('node:') ? request.slice(5) : request;
    if (Object.prototype.hasOwnProperty.call(BUILTINS, name)) return BUILTINS[name]();
    if (NODE_BUILTINS.has(name) || request.startsWith('node:')) {
      throw codedError(Error, 'ERR_V8RS_UNAVAILABLE',
        `The Node built-in module '${name}' is not available in v8rs (there: buffer, events, path, process, string_decoder, timers, url, util)`);
    }
    return undefined;
  };

  // ---- CommonJS.
  const cache = Object.create(null);
  const dirname = (path) => {
    const at = path.lastIndexOf('/');
    return at <= 0 ? '/' : path.slice(0, at);
  };
  class Module {
    constructor(id, parent) {
      this.id = id;
      this.path = dirname(id);
      this.exports = {};
      this.filename = id;
      this.loaded = false;
      this.children = [];
      this.paths = [];
      Object.defineProperty(this, 'parent', { value: parent, writable: true, configurable: true, enumerable: false });
      if (parent) parent.children.push(this);
    }
    require(id) {
      return requireFrom(this, id);
    }
  }
  Module._cache = cache;
  Module.builtinModules = [...NODE_BUILTINS];
  Module.isBuiltin = (request) => isBuiltin(request);
  function requireStack(parent) {
    const stack = [];
    for (let m = parent; m && m.filename; m = m.parent) stack.push(m.filename);
    return stack;
  }
  // `froms`: the folders to resolve from, in turn (require.resolve's `paths`), else the
  // parent's.
  function resolveFilename(request, parent, froms = undefined) {
    if (typeof request !== 'string') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "id" argument must be of type string.${describe(request)}`);
    }
    if (request === '') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'id' must be a non-empty string. Received ''");
    }
    let failed;
    for (const from of froms ?? [parent ? parent.path : (native.root() ?? '')]) {
      const found = native.resolve(request, from, false);
      if (typeof found === 'string') return found;
      if (failed === undefined) failed = found;
      else if (found[0] === 'MODULE_NOT_FOUND' && failed[0] === 'MODULE_NOT_FOUND') failed[2].push(...found[2]);
      if (found[0] !== 'MODULE_NOT_FOUND') { failed = found; break; }
    }
    failed ??= ['MODULE_NOT_FOUND', `Cannot find module '${request}'`, []];
    const [code, message, searched] = failed;
    const stack = requireStack(parent);
    let text = message;
    if (code === 'MODULE_NOT_FOUND' && stack.length > 0) text += `\nRequire stack:\n- ${stack.join('\n- ')}`;
    if (searched.length > 0) text += `\nLooked in: ${searched.join(', ')}`;
    const error = codedError(Error, code, text);
    if (code === 'MODULE_NOT_FOUND') error.requireStack = stack;
    error.searched = searched;
    throw error;
  }
  function load(module) {
    const filename = module.filename;
    if (filename.endsWith('.node')) {
      throw codedError(Error, 'ERR_V8RS_UNAVAILABLE', `Native addons cannot be loaded in v8rs: ${filename}`);
    }
    if (filename.endsWith('.mjs') || (filename.endsWith('.js') && native.isModule(filename))) {
      // require(esm), as Node 20.19: the namespace (or its "module.exports" export).
      const namespace = native.requireModule(filename);
      module.exports = Object.prototype.hasOwnProperty.call(namespace, 'module.exports') ? namespace['module.exports'] : namespace;
      return;
    }
    const text = native.read(filename);
    if (filename.endsWith('.json')) {
      try {
        module.exports = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      } catch (error) {
        error.message = `${filename}: ${error.message}`;
        throw error;
      }
      return;
    }
    const wrapper = native.compile(text, filename);
    const require = makeRequire(module);
    Reflect.apply(wrapper, module.exports, [module.exports, require, module, filename, module.path]);
  }
  function requireFrom(parent, request) {
    const found = builtin(typeof request === 'string' ? request : '');
    if (found !== undefined) return found;
    const filename = resolveFilename(request, parent);
    const cached = cache[filename];
    if (cached !== undefined) {
      if (parent && !parent.children.includes(cached)) parent.children.push(cached);
      return cached.exports;
    }
    const module = new Module(filename, parent);
    cache[filename] = module;
    let threw = true;
    try {
      load(module);
      threw = false;
    } finally {
      if (threw) {
        delete cache[filename];
        if (parent) parent.children.splice(parent.children.indexOf(module), 1);
      }
    }
    module.loaded = true;
    return module.exports;
  }
  function makeRequire(module) {
    const require = (id) => requireFrom(module, id);
    const resolve = (request, options = undefined) => {
      if (isBuiltin(request)) return request;
      const paths = options?.paths;
      if (paths === undefined) return resolveFilename(request, module);
      if (!Array.isArray(paths)) {
        const shown = typeof paths === 'string' ? `'${paths}'` : String(paths);
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property 'options.paths' is invalid. Received ${shown}`);
      }
      paths.forEach((path, i) => {
        if (typeof path !== 'string') {
          throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "paths[${i}]" argument must be of type string.${describe(path)}`);
        }
      });
      // Relative folders are taken from the modules' root (v8rs's working folder).
      const root = native.root() ?? '/';
      return resolveFilename(request, module, paths.map((p) => (p.startsWith('/') ? p : `${root}/${p}`)));
    };
    resolve.paths = (request) => (builtin(request) !== undefined ? null : native.paths(module ? module.path : (native.root() ?? '')));
    require.resolve = resolve;
    require.cache = cache;
    require.main = undefined;
    require.extensions = Object.freeze({ '.js': null, '.json': null, '.node': null });
    return require;
  }
  // As Node: a file URL (string or URL object, percent-decoded) or an absolute path.
  Module.createRequire = (filename) => {
    const text = typeof filename === 'object' && filename !== null && typeof filename.href === 'string'
      ? filename.href : filename;
    let path;
    if (typeof text === 'string' && /^file:/i.test(text)) {
      const match = /^file:(?:\/\/(?:localhost)?)?(\/[^?#]*)/i.exec(text);
      if (!match) {
        throw codedError(TypeError, 'ERR_INVALID_FILE_URL_HOST', `File URL host must be "localhost" or empty: ${text}`);
      }
      if (/%2f/i.test(match[1])) {
        throw codedError(TypeError, 'ERR_INVALID_FILE_URL_PATH', 'File URL path must not include encoded / characters');
      }
      path = decodeURIComponent(match[1]);
    } else if (typeof text === 'string' && text.startsWith('/')) {
      path = text;
    } else {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        "The argument 'filename' must be a file URL object, file URL string, or absolute path string." +
        describe(filename));
    }
    const module = new Module(path, null);
    return makeRequire(module);
  };
  BUILTINS.module = () => Module;

  // ---- the globals.
  define(global, 'global', global);
  define(global, 'process', process);
  lazyGlobal('Buffer', () => loadBuffer().Buffer);
  define(global, 'setImmediate', setImmediate);
  define(global, 'clearImmediate', clearImmediate);
  define(global, 'require', makeRequire(null));
  // For ES modules that import CommonJS or built-ins (`node/mod.rs`).
  Object.defineProperty(global, Symbol.for('v8rs.node.require'), { value: (id) => requireFrom(null, id) });
  return runTicks;
})
