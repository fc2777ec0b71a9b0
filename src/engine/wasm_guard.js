// WebAssembly memories within a VM's max_heap_size (see wasm.rs): every memory gets a
// maximum within the budget and reserves it while anything can reach it. Runs once per
// context of a VM with a budget, before any other script; `native` holds
// reserve/release/available/collect/clamp.
//
// The code that runs later may be hostile: it can replace any global, prototype method,
// accessor or `Symbol.hasInstance`. So everything used after installation is taken now
// (as Node's primordials) and called with `apply`; descriptors are read once, each value
// converted once, into objects without a prototype; no `for…of`, `await` or
// `instanceof` at call time; the module bytes are type-checked in Rust.
(function install(native, budgetBytes) {
  'use strict';
  const W = globalThis.WebAssembly;
  if (typeof W !== 'object' || W === null) return;

  const { apply, construct, defineProperty, getOwnPropertyDescriptor } = Reflect;
  const { values: objectValues, create: objectCreate, setPrototypeOf } = Object;
  const { floor, min, max } = Math;
  const { isFinite } = Number;
  const NumberCtor = Number, StringCtor = String, BigIntCtor = BigInt, BooleanCtor = Boolean;
  const RangeErrorCtor = RangeError, TypeErrorCtor = TypeError;
  const WeakRefCtor = WeakRef, WeakMapCtor = WeakMap, WeakSetCtor = WeakSet, SetCtor = Set;
  const PromiseCtor = Promise, promiseResolve = Promise.resolve;
  const derefOf = WeakRef.prototype.deref;
  const { get: weakMapGet, set: weakMapSet, has: weakMapHas } = WeakMap.prototype;
  const { add: weakSetAdd, has: weakSetHas } = WeakSet.prototype;
  const { add: setAdd, delete: setDelete, forEach: setForEach } = Set.prototype;
  const { push: arrayPush } = Array.prototype;
  const promiseThen = Promise.prototype.then;

  const PAGE = 65536;
  const budgetPages = floor(budgetBytes / PAGE);
  const NativeMemory = W.Memory, NativeModule = W.Module, NativeInstance = W.Instance;
  const nativeCompile = W.compile, nativeInstantiate = W.instantiate;
  const memoryProto = NativeMemory.prototype;
  const bufferOf = getOwnPropertyDescriptor(memoryProto, 'buffer').get;
  const exportsOf = getOwnPropertyDescriptor(NativeInstance.prototype, 'exports').get;
  const moduleExports = NativeModule.exports;

  // A list that no prototype can reach into.
  function list() {
    return setPrototypeOf([], null);
  }

  // What holds reserved bytes: a group of objects (an instance, its memories, every
  // buffer handed out for them) and the bytes they reserve together. The bytes go back
  // when every object of the group is gone.
  const groups = new SetCtor();
  const groupOf = new WeakMapCtor(); // memory -> its group
  const reserves = new WeakMapCtor(); // module -> bytes each of its instances reserves

  function hold(group, object) {
    if (apply(weakSetHas, group.seen, [object])) return;
    apply(weakSetAdd, group.seen, [object]);
    apply(arrayPush, group.refs, [new WeakRefCtor(object)]);
  }

  function track(bytes, objects) {
    if (bytes <= 0) return;
    const group = objectCreate(null);
    group.refs = list();
    group.seen = new WeakSetCtor();
    group.bytes = bytes;
    for (let i = 0; i < objects.length; i++) hold(group, objects[i]);
    apply(setAdd, groups, [group]);
    return group;
  }

  function alive(group) {
    const refs = group.refs;
    for (let i = 0; i < refs.length; i++) {
      if (apply(derefOf, refs[i], []) !== undefined) return true;
    }
    return false;
  }

  function prune() {
    apply(setForEach, groups, [(group) => {
      if (alive(group)) return;
      apply(setDelete, groups, [group]);
      native.release(group.bytes);
    }]);
  }

  function tooMuch(what, bytes) {
    return new RangeErrorCtor(`${what}: ${bytes} bytes of WebAssembly memory are more than is ` +
      `left of this VM's max_heap_size (${native.available()} of ${budgetBytes} bytes)`);
  }

  // Groups nothing reaches any more give their reservations back. (Only right after a
  // collection: `deref` keeps what it returns alive until the job ends.)
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

  // Whether `value` is a WebAssembly.Memory (and then its buffer), by its internal slot.
  function memoryBuffer(value) {
    try {
      return apply(bufferOf, value, []);
    } catch {
      return undefined;
    }
  }

  // An instance's memories live with it, with the memories it exports and with every
  // buffer of those.
  function trackInstance(instance, bytes) {
    if (bytes <= 0) return;
    const objects = list();
    apply(arrayPush, objects, [instance]);
    const exported = objectValues(apply(exportsOf, instance, []));
    const memories = list();
    for (let i = 0; i < exported.length; i++) {
      const buffer = memoryBuffer(exported[i]);
      if (buffer === undefined) continue;
      apply(arrayPush, objects, [exported[i], buffer]);
      apply(arrayPush, memories, [exported[i]]);
    }
    const group = track(bytes, objects);
    for (let i = 0; i < memories.length; i++) {
      if (!apply(weakMapHas, groupOf, [memories[i]])) apply(weakMapSet, groupOf, [memories[i], group]);
    }
  }

  function pages(value, what) {
    const n = NumberCtor(value);
    if (!isFinite(n) || n < 0) throw new TypeErrorCtor(`WebAssembly.Memory: invalid ${what}`);
    return floor(n);
  }

  function Memory(descriptor) {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Memory must be invoked with 'new'");
    const kind = typeof descriptor;
    if ((kind !== 'object' && kind !== 'function') || descriptor === null) {
      return construct(NativeMemory, [descriptor], new.target); // V8's TypeError
    }
    // Each property read once, in V8's order, and converted once: what V8 sees is what
    // was checked.
    const initialValue = descriptor.initial;
    const minimumValue = descriptor.minimum;
    const maximumValue = descriptor.maximum;
    const sharedValue = descriptor.shared;
    const addressValue = descriptor.address ?? descriptor.index;
    const desc = objectCreate(null);
    if (sharedValue !== undefined) desc.shared = BooleanCtor(sharedValue);
    if (addressValue !== undefined) desc.address = StringCtor(addressValue);
    const given = initialValue ?? minimumValue;
    const big = typeof given === 'bigint';
    const initial = pages(given ?? 0, 'initial');
    const declared = maximumValue === undefined ? Infinity : pages(maximumValue, 'maximum');
    if (initial > budgetPages) throw tooMuch('WebAssembly.Memory', initial * PAGE);
    let left = floor(native.available() / PAGE);
    if (left < min(declared, budgetPages)) {
      collect();
      left = floor(native.available() / PAGE);
    }
    const maximum = max(initial, min(declared, left));
    desc.initial = big ? BigIntCtor(initial) : initial;
    desc.maximum = (maximumValue === undefined ? big : typeof maximumValue === 'bigint')
      ? BigIntCtor(maximum) : maximum;
    reserve('WebAssembly.Memory', maximum * PAGE);
    let memory;
    try {
      memory = construct(NativeMemory, [desc], new.target);
    } catch (e) {
      native.release(maximum * PAGE);
      throw e;
    }
    const group = track(maximum * PAGE, [memory]);
    if (group !== undefined) apply(weakMapSet, groupOf, [memory, group]);
    return memory;
  }

  // Every buffer handed out for a memory joins the memory's group: a buffer keeps the
  // memory's store alive after the memory object is gone.
  function buffer() {
    const value = apply(bufferOf, this, []);
    const group = apply(weakMapGet, groupOf, [this]);
    if (group !== undefined) hold(group, value);
    return value;
  }

  // The module bytes (a copy) with their memories capped, and what each instance reserves.
  function clampBytes(source) {
    return native.clamp(source, budgetPages);
  }

  function Module(bytes) {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Module must be invoked with 'new'");
    const clamped = clampBytes(bytes);
    const module = construct(NativeModule, [clamped[0]], new.target);
    apply(weakMapSet, reserves, [module, clamped[1]]);
    return module;
  }

  // What an instance of `module` reserves: modules made here are known; anything else
  // V8 refuses (or, were it a module made some other way, reserves the whole budget).
  function reservedFor(module) {
    if (apply(weakMapHas, reserves, [module])) return apply(weakMapGet, reserves, [module]);
    return isModule(module) ? budgetPages * PAGE : 0;
  }

  // Whether `value` is a WebAssembly.Module, by its internal slot.
  function isModule(value) {
    try {
      apply(moduleExports, NativeModule, [value]);
      return true;
    } catch {
      return false;
    }
  }

  function Instance(module, imports) {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Instance must be invoked with 'new'");
    const bytes = reservedFor(module);
    reserve('WebAssembly.Instance', bytes);
    let instance;
    try {
      instance = construct(NativeInstance, [module, imports], new.target);
    } catch (e) {
      native.release(bytes);
      throw e;
    }
    trackInstance(instance, bytes);
    return instance;
  }

  // `promise.then(ok, fail)` with the original `then`.
  function then(promise, ok, fail) {
    return apply(promiseThen, promise, [ok, fail]);
  }

  function compile(bytes) {
    return new PromiseCtor((resolve, reject) => {
      const clamped = clampBytes(bytes);
      then(apply(nativeCompile, W, [clamped[0]]), (module) => {
        apply(weakMapSet, reserves, [module, clamped[1]]);
        resolve(module);
      }, reject);
    });
  }

  function instantiateModule(module, imports) {
    return new PromiseCtor((resolve, reject) => {
      const bytes = reservedFor(module);
      reserve('WebAssembly.instantiate', bytes);
      then(apply(nativeInstantiate, W, [module, imports]), (instance) => {
        trackInstance(instance, bytes);
        resolve(instance);
      }, (e) => {
        native.release(bytes);
        reject(e);
      });
    });
  }

  function instantiate(source, imports) {
    if (apply(weakMapHas, reserves, [source]) || isModule(source)) {
      return instantiateModule(source, imports);
    }
    return new PromiseCtor((resolve, reject) => {
      then(compile(source), (module) => {
        then(instantiateModule(module, imports), (instance) => {
          resolve({ module, instance });
        }, reject);
      }, reject);
    });
  }

  function replace(name, value, target = W) {
    defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  }

  for (const [wrapper, original] of [[Memory, NativeMemory], [Module, NativeModule], [Instance, NativeInstance]]) {
    wrapper.prototype = original.prototype;
    defineProperty(original.prototype, 'constructor', { value: wrapper, writable: true, configurable: true });
    defineProperty(wrapper, 'name', { value: original.name });
    defineProperty(wrapper, 'length', { value: original.length });
  }
  for (const name of ['exports', 'imports', 'customSections']) {
    if (typeof NativeModule[name] === 'function') replace(name, NativeModule[name], Module);
  }
  defineProperty(memoryProto, 'buffer', { get: buffer, configurable: true, enumerable: true });
  defineProperty(buffer, 'name', { value: 'get buffer' });
  // Newer ways to get a memory's buffer join the group the same way.
  for (const name of ['toFixedLengthBuffer', 'toResizableBuffer']) {
    const original = memoryProto[name];
    if (typeof original !== 'function') continue;
    const wrapped = {
      [name]() {
        const value = apply(original, this, []);
        const group = apply(weakMapGet, groupOf, [this]);
        if (group !== undefined) hold(group, value);
        return value;
      },
    }[name];
    replace(name, wrapped, memoryProto);
  }
  replace('Memory', Memory);
  replace('Module', Module);
  replace('Instance', Instance);
  replace('compile', compile);
  replace('instantiate', instantiate);
  for (const name of ['compileStreaming', 'instantiateStreaming']) {
    if (typeof W[name] !== 'function') continue;
    const arrayBufferOf = (response) => new PromiseCtor((resolve, reject) => {
      then(apply(promiseResolve, PromiseCtor, [response]), (r) => then(r.arrayBuffer(), resolve, reject), reject);
    });
    const viaBytes = name === 'compileStreaming'
      ? function compileStreaming(source) {
        return new PromiseCtor((resolve, reject) => then(arrayBufferOf(source), (b) => then(compile(b), resolve, reject), reject));
      }
      : function instantiateStreaming(source, imports) {
        return new PromiseCtor((resolve, reject) => then(arrayBufferOf(source), (b) => then(instantiate(b, imports), resolve, reject), reject));
      };
    replace(name, viaBytes);
  }
});
