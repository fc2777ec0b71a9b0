// WebAssembly memories within a VM's max_heap_size (see wasm.rs): every memory gets a
// maximum within the budget and reserves it while it lives. Runs once per context of a
// VM with a budget; `native` holds reserve/release/available/collect/clamp.
(function install(native, budgetBytes) {
  'use strict';
  const W = globalThis.WebAssembly;
  if (typeof W !== 'object' || W === null) return;
  const PAGE = 65536;
  const budgetPages = Math.floor(budgetBytes / PAGE);
  const NativeMemory = W.Memory, NativeModule = W.Module, NativeInstance = W.Instance;
  const nativeCompile = W.compile, nativeInstantiate = W.instantiate;
  const { construct, apply } = Reflect;
  const live = []; // { ref: WeakRef, bytes }
  const reserves = new WeakMap(); // module -> bytes each of its instances reserves

  function prune() {
    for (let i = live.length - 1; i >= 0; i--) {
      if (live[i].ref.deref() === undefined) {
        native.release(live[i].bytes);
        live.splice(i, 1);
      }
    }
  }

  function tooMuch(what, bytes) {
    return new RangeError(`${what}: ${bytes} bytes of WebAssembly memory are more than is left of ` +
      `this VM's max_heap_size (${native.available()} of ${budgetBytes} bytes)`);
  }

  // Memories nothing reaches any more give their reservations back. (Only right after
  // a collection: `deref` keeps what it returns alive until the job ends.)
  function collect() {
    native.collect();
    prune();
  }

  // Reserves `bytes`, collecting garbage first if they do not fit.
  function reserve(what, bytes) {
    if (bytes === 0 || native.reserve(bytes)) return;
    collect();
    if (!native.reserve(bytes)) throw tooMuch(what, bytes);
  }

  function track(target, bytes) {
    if (bytes > 0) live.push({ ref: new WeakRef(target), bytes });
  }

  // An instance's memories live with it, or with its one exported memory.
  function trackInstance(instance, bytes) {
    const exported = Object.values(instance.exports).filter((v) => v instanceof NativeMemory);
    track(exported.length === 1 ? exported[0] : instance, bytes);
  }

  function pages(value, what) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`WebAssembly.Memory: invalid ${what}`);
    return Math.floor(n);
  }

  function Memory(descriptor) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Memory must be invoked with 'new'");
    if (typeof descriptor !== 'object' || descriptor === null) {
      return construct(NativeMemory, [descriptor], new.target);
    }
    const desc = {};
    for (const key of ['initial', 'minimum', 'maximum', 'shared', 'address', 'index']) {
      const value = descriptor[key];
      if (value !== undefined) desc[key] = value;
    }
    const big = typeof (desc.initial ?? desc.minimum) === 'bigint';
    const initial = pages(desc.initial ?? desc.minimum ?? 0, 'initial');
    const declared = desc.maximum === undefined ? Infinity : pages(desc.maximum, 'maximum');
    if (initial > budgetPages) throw tooMuch('WebAssembly.Memory', initial * PAGE);
    let left = Math.floor(native.available() / PAGE);
    if (left < Math.min(declared, budgetPages)) {
      collect();
      left = Math.floor(native.available() / PAGE);
    }
    const maximum = Math.max(initial, Math.min(declared, left));
    desc.maximum = big ? BigInt(maximum) : maximum;
    reserve('WebAssembly.Memory', maximum * PAGE);
    let memory;
    try {
      memory = construct(NativeMemory, [desc], new.target);
    } catch (e) {
      native.release(maximum * PAGE);
      throw e;
    }
    track(memory, maximum * PAGE);
    return memory;
  }

  // The module bytes with its memories capped, and what each instance reserves.
  function clampBytes(source) {
    let view;
    if (ArrayBuffer.isView(source)) view = source;
    else if (source instanceof ArrayBuffer || source instanceof SharedArrayBuffer) view = new Uint8Array(source);
    else return [source, 0]; // not bytes: V8 throws its own TypeError
    return native.clamp(view, budgetPages);
  }

  function Module(bytes) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    const [clamped, bytesPerInstance] = clampBytes(bytes);
    const module = construct(NativeModule, [clamped], new.target);
    reserves.set(module, bytesPerInstance);
    return module;
  }

  // Reserves for an instance of `module`, makes it with `make`, and tracks its memory.
  function instantiating(module, make) {
    const bytes = reserves.get(module) ?? 0;
    reserve('WebAssembly.Instance', bytes);
    let instance;
    try {
      instance = make();
    } catch (e) {
      native.release(bytes);
      throw e;
    }
    trackInstance(instance, bytes);
    return instance;
  }

  function Instance(module, imports) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    return instantiating(module, () => construct(NativeInstance, [module, imports], new.target));
  }

  async function compile(bytes) {
    const [clamped, bytesPerInstance] = clampBytes(bytes);
    const module = await apply(nativeCompile, W, [clamped]);
    reserves.set(module, bytesPerInstance);
    return module;
  }

  async function instantiate(source, imports) {
    if (source instanceof NativeModule) {
      const bytes = reserves.get(source) ?? 0;
      reserve('WebAssembly.instantiate', bytes);
      let instance;
      try {
        instance = await apply(nativeInstantiate, W, [source, imports]);
      } catch (e) {
        native.release(bytes);
        throw e;
      }
      trackInstance(instance, bytes);
      return instance;
    }
    const module = await compile(source);
    const instance = await instantiate(module, imports);
    return { module, instance };
  }

  function replace(name, value, target = W) {
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  }

  for (const [wrapper, original] of [[Memory, NativeMemory], [Module, NativeModule], [Instance, NativeInstance]]) {
    wrapper.prototype = original.prototype;
    Object.defineProperty(original.prototype, 'constructor', { value: wrapper, writable: true, configurable: true });
    Object.defineProperty(wrapper, 'name', { value: original.name });
  }
  for (const name of ['exports', 'imports', 'customSections']) {
    if (typeof NativeModule[name] === 'function') replace(name, NativeModule[name], Module);
  }
  replace('Memory', Memory);
  replace('Module', Module);
  replace('Instance', Instance);
  replace('compile', compile);
  replace('instantiate', instantiate);
  for (const name of ['compileStreaming', 'instantiateStreaming']) {
    if (typeof W[name] !== 'function') continue;
    const viaBytes = name === 'compileStreaming'
      ? async (source) => compile(await (await source).arrayBuffer())
      : async (source, imports) => instantiate(await (await source).arrayBuffer(), imports);
    replace(name, viaBytes);
  }
});
