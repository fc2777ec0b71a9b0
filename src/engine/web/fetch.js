// fetch, Headers, Request, Response, Blob, File, FormData of a v8rs context
// (docs/web-apis.md), following the Fetch, File API and XHR (FormData) standards as
// Node 20's undici does. Runs once per context with the `fetch` group, on the first
// use of any of its globals (the prelude defines them lazily and hands over its
// internals); returns them. The network is the embedder's: `fetch`
// hands each request to the host the embedder gave the context (native.fetchSend, a
// pending host operation answered later); a context without one has none, and fetch
// rejects with `TypeError: fetch failed`. Nothing here opens a connection.
(function install(native, internals) {
  'use strict';

  const { DOMException, kCreate, requireArgs, loadStreams, AbortSignal, URL, URLSearchParams, TextDecoder, brandClass } = internals;
  const { base64Bytes, isomorphicDecode, blobURLs, withoutFragment } = internals;
  const usv = (value) => String(value).toWellFormed();
  const encode = (text) => native.utf8Encode(usv(text));
  const decoder = new TextDecoder();
  const decode = (bytes) => decoder.decode(bytes);

  function concat(chunks) {
    let length = 0;
    for (const chunk of chunks) length += chunk.byteLength;
    const out = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }

  const abByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const isArrayBuffer = (value) => {
    try {
      abByteLength.call(value);
      return true;
    } catch {
      return false;
    }
  };
  // A copy of the bytes of an ArrayBuffer or a view, or null.
  function bufferBytes(value) {
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
    if (isArrayBuffer(value)) return new Uint8Array(value.slice(0));
    return null;
  }

  // Iterators over a snapshot of pairs, as WebIDL's pair iterators.
  function pairIterator(pairs, kind, tag) {
    let index = 0;
    const iterator = {
      next() {
        if (index >= pairs.length) return { value: undefined, done: true };
        const [key, value] = pairs[index++];
        return { value: kind === 'keys' ? key : kind === 'values' ? value : [key, value], done: false };
      },
      [Symbol.iterator]() { return this; },
    };
    Object.defineProperty(iterator, Symbol.toStringTag, { value: `${tag} Iterator` });
    return iterator;
  }

  function addIterators(Class, pairsOf, tag) {
    Object.defineProperties(Class.prototype, {
      entries: { value: function entries() { return pairIterator(pairsOf(this), 'entries', tag); }, writable: true, configurable: true },
      keys: { value: function keys() { return pairIterator(pairsOf(this), 'keys', tag); }, writable: true, configurable: true },
      values: { value: function values() { return pairIterator(pairsOf(this), 'values', tag); }, writable: true, configurable: true },
      forEach: {
        value: function forEach(callback, thisArg = undefined) {
          if (typeof callback !== 'function') throw new TypeError(`${tag}.forEach: the callback is not a function`);
          for (const [key, value] of pairsOf(this)) callback.call(thisArg, value, key, this);
        },
        writable: true,
        configurable: true,
      },
      [Symbol.toStringTag]: { value: tag, configurable: true },
    });
    Object.defineProperty(Class.prototype, Symbol.iterator, {
      value: Class.prototype.entries, writable: true, configurable: true,
    });
  }

  // --- Headers ----------------------------------------------------------------------
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const normalizeValue = (value) => String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  let headerList, setGuard, fillHeaders;

  class Headers {
    #list = []; // [lower-case name, value], in insertion order
    #guard = 'none';
    constructor(init = undefined) {
      if (init !== undefined && init !== null) fillHeaders(this, init);
      else if (init === null) throw new TypeError("Headers constructor: init can't be null");
    }
    #check(name, value, what) {
      name = String(name);
      if (!TOKEN.test(name)) throw new TypeError(`Headers.${what}: "${name}" is an invalid header name.`);
      if (value !== undefined && /[\0\r\n]/.test(value)) {
        throw new TypeError(`Headers.${what}: "${value}" is an invalid header value.`);
      }
      if (value !== undefined && /[^\0-\xff]/.test(value)) { // WebIDL's ByteString
        const at = value.search(/[^\0-\xff]/);
        throw new TypeError(`Headers.${what}: cannot convert the value to a ByteString: the character at index ${at} has a value of ${value.charCodeAt(at)}, greater than 255.`);
      }
      if (this.#guard === 'immutable') throw new TypeError('immutable');
      return name.toLowerCase();
    }
    append(name, value) {
      requireArgs(arguments, 2, 'append');
      value = normalizeValue(value);
      const key = this.#check(name, value, 'append');
      this.#list.push([key, value]);
    }
    delete(name) {
      requireArgs(arguments, 1, 'delete');
      const key = this.#check(name, undefined, 'delete');
      this.#list = this.#list.filter(([k]) => k !== key);
    }
    get(name) {
      requireArgs(arguments, 1, 'get');
      name = String(name);
      if (!TOKEN.test(name)) throw new TypeError(`Headers.get: "${name}" is an invalid header name.`);
      const key = name.toLowerCase();
      const values = this.#list.filter(([k]) => k === key).map(([, v]) => v);
      return values.length ? values.join(', ') : null;
    }
    getSetCookie() {
      return this.#list.filter(([k]) => k === 'set-cookie').map(([, v]) => v);
    }
    has(name) {
      requireArgs(arguments, 1, 'has');
      name = String(name);
      if (!TOKEN.test(name)) throw new TypeError(`Headers.has: "${name}" is an invalid header name.`);
      const key = name.toLowerCase();
      return this.#list.some(([k]) => k === key);
    }
    set(name, value) {
      requireArgs(arguments, 2, 'set');
      value = normalizeValue(value);
      const key = this.#check(name, value, 'set');
      const at = this.#list.findIndex(([k]) => k === key);
      if (at < 0) {
        this.#list.push([key, value]);
      } else {
        this.#list[at][1] = value;
        this.#list = this.#list.filter(([k], i) => k !== key || i <= at);
      }
    }
    static {
      headerList = (headers) => headers.#list;
      setGuard = (headers, guard) => { headers.#guard = guard; };
    }
  }
  fillHeaders = (headers, init) => {
    if (typeof init !== 'object' && typeof init !== 'function') {
      throw new TypeError("Headers constructor: init must be a sequence or a record");
    }
    if (init instanceof Headers) {
      for (const [name, value] of headerList(init)) headers.append(name, value);
    } else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const items = [...pair];
        if (items.length !== 2) throw new TypeError('Headers constructor: expected name/value pair to be length 2, found ' + items.length + '.');
        headers.append(items[0], items[1]);
      }
    } else {
      for (const key of Reflect.ownKeys(init)) {
        if (typeof key === 'symbol') continue;
        const desc = Reflect.getOwnPropertyDescriptor(init, key);
        if (desc?.enumerable) headers.append(key, init[key]);
      }
    }
  };
  // The sorted-and-combined view (set-cookie values kept apart), as iteration shows it.
  function sortedHeaders(headers) {
    const list = headerList(headers);
    const names = [...new Set(list.map(([k]) => k))].sort();
    const out = [];
    for (const name of names) {
      if (name === 'set-cookie') {
        for (const [k, v] of list) if (k === name) out.push([name, v]);
      } else {
        out.push([name, list.filter(([k]) => k === name).map(([, v]) => v).join(', ')]);
      }
    }
    return out;
  }
  addIterators(Headers, sortedHeaders, 'Headers');

  // --- Blob, File -------------------------------------------------------------------
  let blobBytes, blobType, copyBlob, copyFile;
  const normalizeType = (type) => {
    type = String(type);
    return /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : '';
  };

  class Blob {
    #bytes; #type;
    constructor(parts = undefined, options = undefined) {
      const chunks = [];
      if (parts !== undefined) {
        if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
          throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
        }
        const native_ = options?.endings === 'native';
        for (const part of parts) {
          if (part instanceof Blob) chunks.push(part.#bytes);
          else {
            const bytes = bufferBytes(part);
            if (bytes) chunks.push(bytes);
            else chunks.push(encode(native_ ? String(part).replace(/\r?\n/g, '\n') : part));
          }
        }
      }
      this.#bytes = concat(chunks);
      this.#type = options?.type === undefined ? '' : normalizeType(options.type);
    }
    get size() { return this.#bytes.byteLength; }
    get type() { return this.#type; }
    slice(start = 0, end = undefined, contentType = undefined) {
      const size = this.#bytes.byteLength;
      const clamp = (n) => (n < 0 ? Math.max(size + n, 0) : Math.min(n, size));
      const from = clamp(Math.trunc(Number(start)) || 0);
      const to = end === undefined ? size : clamp(Math.trunc(Number(end)) || 0);
      const blob = new Blob([], { type: contentType === undefined ? '' : contentType });
      blob.#bytes = this.#bytes.slice(from, Math.max(from, to));
      return blob;
    }
    async text() { return decode(this.#bytes); }
    async arrayBuffer() { return this.#bytes.slice().buffer; }
    async bytes() { return this.#bytes.slice(); }
    stream() { return bytesStream(this.#bytes); }
    get [Symbol.toStringTag]() { return 'Blob'; }
    static {
      blobBytes = (blob) => blob.#bytes;
      // Its type as made, whatever a subclass's `type` getter says.
      blobType = (blob) => blob.#type;
      blobURLs.isBlob = (value) => typeof value === 'object' && value !== null && #bytes in value;
      // structuredClone's copy (the bytes are never changed, so they are shared).
      copyBlob = (blob, into = new Blob()) => {
        if (!(#bytes in blob)) return undefined;
        into.#bytes = blob.#bytes;
        into.#type = blob.#type;
        return into;
      };
    }
  }

  class File extends Blob {
    #name; #lastModified;
    constructor(parts, name, options = undefined) {
      requireArgs(arguments, 2, 'File');
      super(parts, options);
      this.#name = usv(name);
      this.#lastModified = options?.lastModified === undefined ? Date.now() : Math.trunc(Number(options.lastModified)) || 0;
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get [Symbol.toStringTag]() { return 'File'; }
    static {
      copyFile = (file) => (#name in file
        ? copyBlob(file, new File([], file.#name, { lastModified: file.#lastModified }))
        : undefined);
    }
  }
  brandClass(Blob, copyBlob);
  brandClass(File, copyFile);

  // `bytes` (never changed after) as a byte stream of pieces of at most 64 KiB, each
  // made when it is read (as Node's `blob.stream()` does): a reader that drops them, or
  // a `pipeThrough` that waits for its reader, holds one at a time.
  const STREAM_PIECE = 65536;
  function bytesStream(bytes) {
    const { ReadableStream } = loadStreams();
    let at = 0;
    return new ReadableStream({
      type: 'bytes',
      pull(controller) {
        if (at < bytes.byteLength) {
          const end = Math.min(at + STREAM_PIECE, bytes.byteLength);
          controller.enqueue(bytes.slice(at, end));
          at = end;
        }
        if (at >= bytes.byteLength) {
          bytes = undefined;
          controller.close();
          // A BYOB read still waiting (the stream was empty, or its `min` was not met)
          // settles only when told: done, with what it has.
          controller.byobRequest?.respond(0);
        }
      },
    });
  }

  // --- FormData ---------------------------------------------------------------------
  let formList;
  function formEntry(name, value, filename, what) {
    name = usv(name);
    if (value instanceof Blob) {
      if (!(value instanceof File) || filename !== undefined) {
        const type = blobType(value);
        const file = new File([value], filename !== undefined ? usv(filename) : value instanceof File ? value.name : 'blob', { type, lastModified: value instanceof File ? value.lastModified : undefined });
        value = file;
      }
    } else {
      if (filename !== undefined) {
        throw new TypeError(`Failed to execute '${what}' on 'FormData': parameter 2 is not of type 'Blob'.`);
      }
      value = usv(value);
    }
    return [name, value];
  }

  class FormData {
    #list = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new TypeError("FormData: the form argument is not supported (there is no DOM)");
    }
    append(name, value, filename = undefined) {
      requireArgs(arguments, 2, 'append');
      this.#list.push(formEntry(name, value, filename, 'append'));
    }
    delete(name) {
      requireArgs(arguments, 1, 'delete');
      name = usv(name);
      this.#list = this.#list.filter(([k]) => k !== name);
    }
    get(name) {
      requireArgs(arguments, 1, 'get');
      name = usv(name);
      return this.#list.find(([k]) => k === name)?.[1] ?? null;
    }
    getAll(name) {
      requireArgs(arguments, 1, 'getAll');
      name = usv(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name) {
      requireArgs(arguments, 1, 'has');
      name = usv(name);
      return this.#list.some(([k]) => k === name);
    }
    set(name, value, filename = undefined) {
      requireArgs(arguments, 2, 'set');
      const entry = formEntry(name, value, filename, 'set');
      const at = this.#list.findIndex(([k]) => k === entry[0]);
      if (at < 0) this.#list.push(entry);
      else {
        this.#list[at] = entry;
        this.#list = this.#list.filter(([k], i) => k !== entry[0] || i <= at);
      }
    }
    static {
      formList = (form) => form.#list;
    }
  }
  addIterators(FormData, (form) => formList(form).slice(), 'FormData');

  const escapeName = (name) => name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  function serializeForm(form) {
    const digits = Array.from(crypto_digits(), (d) => d).join('');
    const boundary = `----formdata-v8rs-${digits}`;
    const chunks = [];
    for (const [name, value] of formList(form)) {
      if (typeof value === 'string') {
        chunks.push(encode(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n')}\r\n`));
      } else {
        chunks.push(encode(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"; filename="${escapeName(value.name)}"\r\nContent-Type: ${blobType(value) || 'application/octet-stream'}\r\n\r\n`));
        chunks.push(blobBytes(value), encode('\r\n'));
      }
    }
    chunks.push(encode(`--${boundary}--\r\n`));
    return { bytes: concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
  }
  function* crypto_digits() {
    const random = new Uint8Array(11);
    native.randomFill(random);
    for (const byte of random) yield byte % 10;
  }

  // Parses a multipart/form-data body (the subset browsers and undici produce).
  function parseMultipart(bytes, contentType) {
    const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
    if (!match) throw new TypeError('Failed to parse body as FormData.');
    const boundary = encode('--' + (match[1] ?? match[2]));
    const form = new FormData();
    const find = (needle, from) => {
      outer: for (let i = from; i <= bytes.length - needle.length; i++) {
        for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    };
    let at = find(boundary, 0);
    if (at < 0) throw new TypeError('Failed to parse body as FormData.');
    const crlfcrlf = encode('\r\n\r\n');
    const delimiter = concat([encode('\r\n'), boundary]);
    for (;;) {
      at += boundary.length;
      if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) break; // the final "--"
      at += 2; // CRLF
      const headersEnd = find(crlfcrlf, at);
      if (headersEnd < 0) throw new TypeError('Failed to parse body as FormData.');
      const head = decode(bytes.subarray(at, headersEnd));
      const next = find(delimiter, headersEnd + 4);
      if (next < 0) throw new TypeError('Failed to parse body as FormData.');
      const content = bytes.slice(headersEnd + 4, next);
      const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      if (name === undefined) throw new TypeError('Failed to parse body as FormData.');
      const unescape = (s) => s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%22/g, '"');
      const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      if (filename !== undefined) {
        const type = /content-type:\s*([^\r\n]*)/i.exec(head)?.[1]?.trim() ?? '';
        form.append(unescape(name), new File([content], unescape(filename), { type }));
      } else {
        form.append(unescape(name), decode(content));
      }
      at = next + 2;
    }
    return form;
  }

  // --- bodies -----------------------------------------------------------------------
  // A body is { bytes } (known bytes), { stream } (a ReadableStream), or { host } (a
  // stream the host serves chunk by chunk, made a ReadableStream when `.body` is read).
  function extractBody(init, keepalive) {
    if (typeof init === 'string') return [{ bytes: encode(init) }, 'text/plain;charset=UTF-8'];
    if (init instanceof URLSearchParams) return [{ bytes: encode(init.toString()) }, 'application/x-www-form-urlencoded;charset=UTF-8'];
    if (init instanceof Blob) return [{ bytes: blobBytes(init).slice() }, blobType(init) || null];
    if (init instanceof FormData) {
      const { bytes, type } = serializeForm(init);
      return [{ bytes }, type];
    }
    const bytes = bufferBytes(init);
    if (bytes) return [{ bytes }, null];
    const { ReadableStream } = loadStreams();
    if (init instanceof ReadableStream) {
      if (keepalive) throw new TypeError('keepalive');
      if (init.locked || isDisturbed(init)) throw new TypeError('Response body object should not be disturbed or locked');
      return [{ stream: init }, null];
    }
    return [{ bytes: encode(String(init)) }, 'text/plain;charset=UTF-8'];
  }
  const disturbedStreams = new WeakSet();
  // (web-streams-polyfill marks a stream that was read from as `_disturbed`.)
  const isDisturbed = (stream) => disturbedStreams.has(stream) || stream._disturbed === true;

  // A ReadableStream over chunks the host serves (fetchSend('read', id)).
  function hostStream(streamId, signal) {
    const { ReadableStream } = loadStreams();
    let current = null;
    // One chunk from the host: bytes, or null at the end of the body.
    async function readOnce() {
      if (signal?.aborted) throw signal.reason;
      const sent = native.fetchSend('read', streamId);
      if (sent === undefined) throw new TypeError('terminated', { cause: new Error('the context has no network any more') });
      const [id, promise] = sent;
      current = id;
      let onAbort;
      const aborted = signal ? new Promise((_, reject) => {
        onAbort = () => { native.fetchAbort(id); reject(signal.reason); };
        signal.addEventListener('abort', onAbort, { once: true });
      }) : null;
      let answer;
      try {
        answer = await (aborted ? Promise.race([promise, aborted]) : promise);
      } finally {
        current = null;
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
      if (answer === undefined) throw new DOMException('The operation was aborted: a call of the context was stopped', 'AbortError');
      if (answer === null || answer instanceof Uint8Array) return answer;
      throw new TypeError('terminated', { cause: new Error(String(answer?.error ?? answer)) });
    }
    return new ReadableStream({
      async pull(controller) {
        // An empty chunk is read past: nothing would call `pull` again (no queue).
        for (;;) {
          const answer = await readOnce();
          if (answer === null) return controller.close();
          if (answer.byteLength) return controller.enqueue(answer);
        }
      },
      cancel() {
        if (current !== null) native.fetchAbort(current);
        native.fetchSend('cancel', streamId);
      },
    }, { highWaterMark: 0 });
  }

  async function readAll(stream) {
    const reader = stream.getReader();
    const chunks = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError('Received non-Uint8Array chunk');
      chunks.push(value);
    }
    return concat(chunks);
  }

  // The body's ReadableStream (made on first use).
  function streamOf(body, signal) {
    if (!body.stream) {
      body.stream = body.host !== undefined ? hostStream(body.host, signal) : bytesStream(body.bytes);
      body.host = undefined;
      body.bytes = undefined;
    }
    return body.stream;
  }

  // The mixin's state, per Request/Response.
  const bodies = new WeakMap(); // object -> { body, used, signal }
  function consume(object, what) {
    const state = bodies.get(object);
    if (!state) return Promise.reject(new TypeError('Illegal invocation'));
    const { body } = state;
    if (!body) return Promise.resolve(new Uint8Array(0));
    if (state.used || (body.stream && (body.stream.locked || isDisturbed(body.stream)))) {
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    }
    state.used = true;
    if (body.bytes) {
      const bytes = body.bytes;
      return Promise.resolve(bytes);
    }
    const stream = streamOf(body, state.signal);
    disturbedStreams.add(stream);
    return readAll(stream);
  }

  const BodyMixin = {
    get body() {
      const state = bodies.get(this);
      if (!state?.body) return null;
      const stream = streamOf(state.body, state.signal);
      return stream;
    },
    get bodyUsed() {
      const state = bodies.get(this);
      return !!state?.body && (state.used || (!!state.body.stream && isDisturbed(state.body.stream)));
    },
    async arrayBuffer() { return (await consume(this)).slice().buffer; },
    async bytes() { return (await consume(this)).slice(); },
    async text() { return decode(await consume(this)); },
    async json() { return JSON.parse(decode(await consume(this))); },
    async blob() {
      const bytes = await consume(this);
      return new Blob([bytes], { type: this.headers.get('content-type') ?? '' });
    },
    async formData() {
      const type = this.headers.get('content-type') ?? '';
      const bytes = await consume(this);
      if (/^multipart\/form-data/i.test(type)) return parseMultipart(bytes, type);
      if (/^application\/x-www-form-urlencoded/i.test(type)) {
        const form = new FormData();
        for (const [name, value] of new URLSearchParams(decode(bytes))) form.append(name, value);
        return form;
      }
      throw new TypeError('Content-Type was not one of "multipart/form-data" or "application/x-www-form-urlencoded".');
    },
  };
  function mixBody(Class) {
    for (const key of Reflect.ownKeys(BodyMixin)) {
      const desc = Object.getOwnPropertyDescriptor(BodyMixin, key);
      desc.enumerable = false;
      Object.defineProperty(Class.prototype, key, desc);
    }
  }
  // A copy of a body for clone(): bytes are copied, streams teed.
  function cloneBody(state) {
    const body = state.body;
    if (!body) return null;
    if (state.used || (body.stream && (body.stream.locked || isDisturbed(body.stream)))) {
      throw new TypeError('Response.clone: Body has already been consumed.');
    }
    if (body.bytes) return { bytes: body.bytes.slice() };
    const [a, b] = streamOf(body, state.signal).tee();
    body.stream = a;
    return { stream: b };
  }

  // --- Response ---------------------------------------------------------------------
  const NULL_BODY = new Set([101, 103, 204, 205, 304]);
  const REDIRECT = new Set([301, 302, 303, 307, 308]);
  let responseInternals;

  class Response {
    #status = 200; #statusText = ''; #headers; #type = 'default'; #url = ''; #redirected = false;
    constructor(body = null, init = undefined) {
      if (body === kCreate) {
        this.#headers = new Headers();
        bodies.set(this, { body: null, used: false, signal: null });
        return;
      }
      if (init !== undefined && init !== null && typeof init !== 'object') {
        throw new TypeError("Response constructor: init must be an object");
      }
      const status = init?.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      }
      const statusText = init?.statusText === undefined ? '' : String(init.statusText);
      if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw new TypeError('Invalid statusText');
      this.#status = status;
      this.#statusText = statusText;
      this.#headers = new Headers(init?.headers);
      let extracted = null;
      if (body !== null && body !== undefined) {
        if (NULL_BODY.has(status)) throw new TypeError('Response constructor: Invalid response status code ' + status);
        const [b, type] = extractBody(body);
        extracted = b;
        if (type !== null && !this.#headers.has('content-type')) this.#headers.append('content-type', type);
      }
      bodies.set(this, { body: extracted, used: false, signal: null });
    }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get statusText() { return this.#statusText; }
    get headers() { return this.#headers; }
    clone() {
      const state = bodies.get(this);
      if (!state) throw new TypeError('Illegal invocation');
      const copy = new Response(kCreate);
      copy.#status = this.#status;
      copy.#statusText = this.#statusText;
      copy.#headers = new Headers(this.#headers);
      setGuard(copy.#headers, this.#type === 'error' ? 'immutable' : 'response');
      copy.#type = this.#type;
      copy.#url = this.#url;
      copy.#redirected = this.#redirected;
      bodies.set(copy, { body: cloneBody(state), used: false, signal: state.signal });
      return copy;
    }
    static error() {
      const response = new Response(kCreate);
      response.#status = 0;
      response.#type = 'error';
      setGuard(response.#headers, 'immutable');
      return response;
    }
    static redirect(url, status = 302) {
      requireArgs(arguments, 1, 'Response.redirect');
      let parsed;
      try {
        parsed = new URL(String(url));
      } catch (cause) {
        throw new TypeError(`Failed to parse URL from ${url}`, { cause });
      }
      status = Number(status);
      if (!REDIRECT.has(status)) throw new RangeError(`Invalid status code ${status}`);
      const response = new Response(kCreate);
      response.#status = status;
      response.#headers.set('location', parsed.href);
      setGuard(response.#headers, 'immutable');
      return response;
    }
    static json(data, init = undefined) {
      requireArgs(arguments, 1, 'Response.json');
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError('Value is not JSON serializable');
      const response = new Response(encode(text), init);
      if (!response.#headers.has('content-type')) response.#headers.set('content-type', 'application/json');
      else if (response.#headers.get('content-type') === null) response.#headers.set('content-type', 'application/json');
      return response;
    }
    get [Symbol.toStringTag]() { return 'Response'; }
    static {
      responseInternals = {
        fromHost(answer, url, redirected, signal) {
          const response = new Response(kCreate);
          response.#status = answer.status;
          try {
            const statusText = answer.statusText ?? '';
            if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw new TypeError(`Invalid statusText: ${JSON.stringify(statusText)}`);
            response.#statusText = statusText;
            for (const [name, value] of answer.headers ?? []) response.#headers.append(name, value);
          } catch (e) {
            // An answer no network could give: its streamed body is cancelled (closed).
            if (answer.stream !== undefined && answer.stream !== null) native.fetchSend('cancel', answer.stream);
            throw e;
          }
          setGuard(response.#headers, 'immutable');
          response.#type = 'basic';
          response.#url = withoutFragment(url);
          response.#redirected = redirected;
          let body = null;
          if (NULL_BODY.has(answer.status)) {
            // No body, whatever the handler gave (as a network response has none); a
            // streamed one is cancelled.
            if (answer.stream !== undefined && answer.stream !== null) native.fetchSend('cancel', answer.stream);
          } else if (answer.stream !== undefined && answer.stream !== null) body = { host: answer.stream };
          else if (answer.body instanceof Uint8Array) body = { bytes: answer.body };
          else if (answer.body !== null && answer.body !== undefined) body = { bytes: encode(String(answer.body)) };
          else body = { bytes: new Uint8Array(0) };
          bodies.set(response, { body, used: false, signal });
          return response;
        },
      };
    }
  }
  mixBody(Response);

  // --- Request ----------------------------------------------------------------------
  const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
  const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
  const ENUMS = {
    mode: ['navigate', 'same-origin', 'no-cors', 'cors'],
    credentials: ['omit', 'same-origin', 'include'],
    cache: ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached'],
    redirect: ['follow', 'error', 'manual'],
    referrerPolicy: ['', 'no-referrer', 'no-referrer-when-downgrade', 'same-origin', 'origin', 'strict-origin',
      'origin-when-cross-origin', 'strict-origin-when-cross-origin', 'unsafe-url'],
  };
  let requestState;

  class Request {
    #method = 'GET'; #url; #headers; #signal; #controller = null;
    // A blob: URL's Blob, resolved when the URL is parsed (as the URL standard's parser
    // does): revoking the URL afterwards does not change what the request fetches.
    #blob;
    #options = {
      mode: 'cors', credentials: 'same-origin', cache: 'default', redirect: 'follow', referrer: 'about:client',
      referrerPolicy: '', integrity: '', keepalive: false, duplex: 'half',
    };
    constructor(input, init = undefined) {
      requireArgs(arguments, 1, 'Request');
      if (init !== undefined && init !== null && typeof init !== 'object') {
        throw new TypeError("Request constructor: init must be an object");
      }
      init ??= {};
      let fromRequest = null;
      if (input instanceof Request) {
        fromRequest = input;
        this.#method = input.#method;
        this.#url = input.#url;
        this.#blob = input.#blob;
        Object.assign(this.#options, input.#options);
      } else {
        try {
          this.#url = new URL(usv(input)).href;
        } catch (cause) {
          throw new TypeError(`Failed to parse URL from ${input}`, { cause });
        }
        if (this.#url.startsWith('blob:')) this.#blob = blobURLs.entries.get(withoutFragment(this.#url));
        if (/^[^:]+:\/\/[^/]*@/.test(this.#url) && new URL(this.#url).username + new URL(this.#url).password !== '') {
          throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${input}`);
        }
      }
      for (const key of Object.keys(ENUMS)) {
        if (init[key] !== undefined) {
          const value = String(init[key]);
          if (!ENUMS[key].includes(value)) {
            throw new TypeError(`Request constructor: ${value} is not an accepted type. Expected one of ${ENUMS[key].join(', ')}.`);
          }
          this.#options[key] = value;
        }
      }
      if (init.mode === 'navigate') throw new TypeError("Request constructor: invalid request mode navigate.");
      if (init.integrity !== undefined) this.#options.integrity = String(init.integrity);
      if (init.keepalive !== undefined) this.#options.keepalive = !!init.keepalive;
      if (init.referrer !== undefined) {
        const referrer = String(init.referrer);
        this.#options.referrer = referrer === '' ? '' : new URL(referrer).href;
      }
      if (init.method !== undefined) {
        let method = String(init.method);
        if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
        const upper = method.toUpperCase();
        if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
        if (METHODS.has(upper)) method = upper;
        this.#method = method;
      }
      // The signal follows the input's and init's.
      this.#controller = null;
      const signals = [];
      if (fromRequest) signals.push(fromRequest.#signal);
      if (init.signal !== undefined && init.signal !== null) {
        if (!(init.signal instanceof AbortSignal)) {
          throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
        }
        signals.length = 0;
        signals.push(init.signal);
      }
      this.#signal = signals.length ? AbortSignal.any(signals) : AbortSignal.any([]);
      this.#headers = new Headers(init.headers !== undefined ? init.headers : fromRequest ? fromRequest.#headers : undefined);
      let body = null;
      const inputState = fromRequest ? bodies.get(fromRequest) : null;
      if (init.body !== undefined && init.body !== null) {
        if (this.#method === 'GET' || this.#method === 'HEAD') throw new TypeError('Request with GET/HEAD method cannot have body.');
        const [b, type] = extractBody(init.body, this.#options.keepalive);
        if (b.stream && init.duplex !== 'half') throw new TypeError('RequestInit: duplex option is required when sending a body.');
        body = b;
        if (type !== null && !this.#headers.has('content-type')) this.#headers.append('content-type', type);
      } else if (inputState?.body) {
        if (inputState.used || (inputState.body.stream && isDisturbed(inputState.body.stream))) {
          throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
        }
        if ((this.#method === 'GET' || this.#method === 'HEAD')) throw new TypeError('Request with GET/HEAD method cannot have body.');
        body = inputState.body;
        inputState.used = true; // the input's body moves to the new request
      }
      bodies.set(this, { body, used: false, signal: this.#signal });
    }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get destination() { return ''; }
    get referrer() {
      const r = this.#options.referrer;
      return r === 'about:client' ? 'about:client' : r;
    }
    get referrerPolicy() { return this.#options.referrerPolicy; }
    get mode() { return this.#options.mode; }
    get credentials() { return this.#options.credentials; }
    get cache() { return this.#options.cache; }
    get redirect() { return this.#options.redirect; }
    get integrity() { return this.#options.integrity; }
    get keepalive() { return this.#options.keepalive; }
    get isReloadNavigation() { return false; }
    get isHistoryNavigation() { return false; }
    get signal() { return this.#signal; }
    get duplex() { return this.#options.duplex; }
    clone() {
      const state = bodies.get(this);
      if (!state) throw new TypeError('Illegal invocation');
      if (state.used || (state.body?.stream && isDisturbed(state.body.stream))) {
        throw new TypeError('Request.clone: Body has already been consumed.');
      }
      const copy = new Request(this.#url);
      copy.#blob = this.#blob;
      copy.#method = this.#method;
      copy.#headers = new Headers(this.#headers);
      Object.assign(copy.#options, this.#options);
      copy.#signal = AbortSignal.any([this.#signal]);
      bodies.set(copy, { body: cloneBody(state), used: false, signal: copy.#signal });
      return copy;
    }
    get [Symbol.toStringTag]() { return 'Request'; }
    static {
      requestState = (request) => ({
        method: request.#method, url: request.#url, headers: request.#headers,
        redirect: request.#options.redirect, signal: request.#signal, blob: request.#blob,
      });
    }
  }
  mixBody(Request);

  // --- fetch ------------------------------------------------------------------------
  const NO_NETWORK = 'this context has no network permission: the embedder gives one with ' +
    'ctx.set_fetch(handler) or ctx.set_fetch(allow=[...]) (C: v8rs_context_set_fetch)';
  const failed = (cause) => new TypeError('fetch failed', { cause });
  const stopped = () => new DOMException('The operation was aborted: a call of the context was stopped (timeout or cancel)', 'AbortError');

  // --- data: and blob: URLs ----------------------------------------------------------
  // Answered here, as the Fetch standard's scheme fetch does, with or without a network:
  // the host never sees them.

  // The MIME Sniffing standard's parse of a MIME type, serialized; null on failure.
  const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const QUOTED_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
  function parseMimeType(input) {
    const text = input.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    const slash = text.indexOf('/');
    if (slash < 0) return null;
    const type = text.slice(0, slash);
    let at = text.indexOf(';', slash);
    if (at < 0) at = text.length;
    const subtype = text.slice(slash + 1, at).replace(/[\t\n\r ]+$/, '');
    if (!HTTP_TOKEN.test(type) || !HTTP_TOKEN.test(subtype)) return null;
    const params = new Map();
    while (at < text.length) {
      at++; // the ';'
      while (at < text.length && '\t\n\r '.includes(text[at])) at++;
      let end = at;
      while (end < text.length && text[end] !== ';' && text[end] !== '=') end++;
      const name = text.slice(at, end).toLowerCase();
      at = end;
      if (at < text.length) {
        if (text[at] === ';') continue;
        at++; // the '='
      }
      if (at >= text.length) break;
      let value;
      if (text[at] === '"') {
        value = '';
        at++;
        for (;;) {
          while (at < text.length && text[at] !== '"' && text[at] !== '\\') value += text[at++];
          if (at >= text.length) break;
          const quoteOrBackslash = text[at++];
          if (quoteOrBackslash === '\\') {
            if (at >= text.length) {
              value += '\\';
              break;
            }
            value += text[at++];
          } else break;
        }
        while (at < text.length && text[at] !== ';') at++;
      } else {
        end = text.indexOf(';', at);
        if (end < 0) end = text.length;
        value = text.slice(at, end).replace(/[\t\n\r ]+$/, '');
        at = end;
        if (!value) continue;
      }
      if (name && HTTP_TOKEN.test(name) && QUOTED_VALUE.test(value) && !params.has(name)) params.set(name, value);
    }
    let out = `${type}/${subtype}`.toLowerCase();
    for (const [name, value] of params) {
      out += `;${name}=${value && HTTP_TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`}`;
    }
    return out;
  }

  // The bytes of `text` (a serialized URL, so ASCII), `%XX` decoded.
  function percentDecode(text) {
    if (!text.includes('%')) return native.utf8Encode(text);
    const bytes = new Uint8Array(text.length);
    const hex = (c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);
    let length = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const high = c === 37 && i + 2 < text.length ? hex(text.charCodeAt(i + 1)) : -1;
      const low = high >= 0 ? hex(text.charCodeAt(i + 2)) : -1;
      if (low >= 0) {
        bytes[length++] = (high << 4) | low;
        i += 2;
      } else bytes[length++] = c;
    }
    return bytes.slice(0, length);
  }

  // The Fetch standard's data: URL processor: { type, bytes }, or null on failure.
  function processDataURL(href) {
    const input = withoutFragment(href).slice('data:'.length);
    const comma = input.indexOf(',');
    if (comma < 0) return null;
    let type = input.slice(0, comma).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');
    let bytes = percentDecode(input.slice(comma + 1));
    const base64 = /;\x20*base64$/i.exec(type);
    if (base64) {
      bytes = base64Bytes(isomorphicDecode(bytes));
      if (bytes === null) return null;
      type = type.slice(0, base64.index);
    }
    if (type.startsWith(';')) type = `text/plain${type}`;
    return { type: parseMimeType(type) ?? 'text/plain;charset=US-ASCII', bytes };
  }

  // The Fetch standard's parse of a single range header value (whitespace allowed):
  // [start, end] (either may be null), or null on failure.
  function parseRange(value) {
    const match = /^bytes[\t ]*=[\t ]*(\d*)[\t ]*-[\t ]*(\d*)$/i.exec(value);
    if (!match || (match[1] === '' && match[2] === '')) return null;
    const start = match[1] === '' ? null : Number(match[1]);
    const end = match[2] === '' ? null : Number(match[2]);
    return start !== null && end !== null && start > end ? null : [start, end];
  }

  // The answer for a data: or blob: URL (whose Blob the request resolved: `blob`), as
  // the host gives one; undefined for other URLs.
  function localAnswer(method, url, headers, blob) {
    if (url.startsWith('data:')) {
      const data = processDataURL(url);
      if (data === null) throw failed(new Error(`invalid data: URL (${url.length > 64 ? `${url.slice(0, 64)}…` : url})`));
      // (A HEAD request's response has no body, whatever the scheme.)
      return { status: 200, statusText: 'OK', headers: [['content-type', data.type]], body: method === 'HEAD' ? null : data.bytes };
    }
    if (!url.startsWith('blob:')) return undefined;
    if (method !== 'GET') throw failed(new Error(`a blob: URL is fetched with GET only, not ${method}`));
    if (blob === undefined) throw failed(new Error(`no Blob under ${url} in this context (revoked, or never made here)`));
    const bytes = blobBytes(blob);
    const type = blobType(blob);
    const range = headers.find(([name]) => name === 'range');
    if (range === undefined) {
      return { status: 200, statusText: 'OK', headers: [['content-length', String(bytes.byteLength)], ['content-type', type]], body: bytes.slice() };
    }
    const bounds = parseRange(range[1]);
    if (bounds === null) throw failed(new Error(`invalid range header ${JSON.stringify(range[1])} (one range of bytes)`));
    const full = bytes.byteLength;
    let [start, end] = bounds;
    if (start === null) {
      if (end === 0) throw failed(new Error('the range is empty (bytes=-0)'));
      start = Math.max(full - end, 0);
      end = full - 1;
    } else {
      if (start >= full) throw failed(new Error(`the range starts past the blob's ${full} bytes`));
      if (end === null || end >= full) end = full - 1;
    }
    return {
      status: 206, statusText: 'Partial Content', body: bytes.slice(start, end + 1),
      headers: [['content-length', String(end + 1 - start)], ['content-range', `bytes ${start}-${end}/${full}`], ['content-type', type]],
    };
  }

  // One request to the host; resolves with its answer, or rejects on abort.
  function send(payload, signal) {
    const sent = native.fetchSend('fetch', payload);
    if (sent === undefined) return Promise.reject(failed(new Error(NO_NETWORK)));
    const [id, promise] = sent;
    if (!signal) return promise;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        native.fetchAbort(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then((answer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      });
    });
  }

  async function fetch(input, init = undefined) {
    requireArgs(arguments, 1, 'fetch');
    const request = new Request(input, init);
    const { signal } = requestState(request);
    if (signal.aborted) throw signal.reason;
    const state = bodies.get(request);
    let body = state.body ? await consume(request) : null;
    let { method, url } = requestState(request);
    const { redirect, blob } = requestState(request);
    let headers = sortedHeaders(requestState(request).headers);
    const local = localAnswer(method, url, headers, blob);
    if (local !== undefined) return responseInternals.fromHost(local, url, false, signal);
    let redirects = 0;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const answer = await send({ method, url, headers, body, redirect }, signal);
      if (answer === undefined) throw stopped();
      if (answer === null || typeof answer !== 'object' || answer instanceof Uint8Array) {
        throw failed(new Error(`the fetch handler answered ${String(answer)}`));
      }
      if (typeof answer.error === 'string') throw failed(new Error(answer.error));
      if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
        if (answer.stream != null) native.fetchSend('cancel', answer.stream);
        throw failed(new Error(`the fetch handler answered status ${answer.status}`));
      }
      const location = (answer.headers ?? []).find(([name]) => String(name).toLowerCase() === 'location')?.[1];
      if (REDIRECT.has(answer.status) && location !== undefined && redirect !== 'manual') {
        if (answer.stream != null) native.fetchSend('cancel', answer.stream);
        if (redirect === 'error') throw failed(new Error('unexpected redirect'));
        if (++redirects > 20) throw failed(new Error('redirect count exceeded'));
        let next;
        try {
          next = new URL(String(location), url).href;
        } catch (cause) {
          throw failed(cause);
        }
        if (!/^https?:$/.test(new URL(next).protocol)) throw failed(new Error('URL scheme must be a HTTP(S) scheme'));
        if (answer.status === 303 ? method !== 'HEAD' : (answer.status === 301 || answer.status === 302) && method === 'POST') {
          method = 'GET';
          body = null;
          headers = headers.filter(([name]) => !/^content-(encoding|language|location|type|length)$/.test(name));
        }
        if (new URL(next).origin !== new URL(url).origin) {
          headers = headers.filter(([name]) => !/^(authorization|cookie|proxy-authorization)$/.test(name));
        }
        url = next;
        continue;
      }
      return responseInternals.fromHost(answer, url, redirects > 0, signal);
    }
  }

  return { Headers, Request, Response, Blob, File, FormData, fetch };
});
