// WebAssembly memories and resizable buffers within a VM's max_heap_size (see wasm.rs):
// every memory gets a maximum within the budget and reserves it while anything can
// reach it, and so does every resizable ArrayBuffer and growable SharedArrayBuffer (V8
// maps both kinds itself, outside the array buffer allocator). Runs before any other
// script in each context of a VM with a budget, and in each snapshot's context before
// its scripts (so that what they keep of the built-ins is the stand-ins: a VM with a
// budget switches those on, anywhere else they do what the built-ins do). `native` holds
// reserve/release/available/collect/clamp/wrap. Evaluates to `activate(budgetBytes)`,
// which switches the stand-ins on for a budget of that many bytes; until then each does
// just what its built-in does.
//
// The code that runs later may be hostile: it can replace any global, prototype method,
// accessor or `Symbol.hasInstance`. So everything used after installation is taken now
// (as Node's primordials) and called with `apply`; descriptors are read once, each value
// converted once, into objects without a prototype; no `for…of`, `await` or
// `instanceof` at call time; the module bytes are type-checked in Rust.
(function install(native) {
  'use strict';
  // `WebAssembly` and `SharedArrayBuffer` are not in a snapshot's context while its
  // scripts run (V8 adds them to each context made from it): their stand-ins are put in
  // by `activate`, before any script of the VM runs, whatever the snapshot's did.
  let W;
  // Whether the stand-ins count (after `activate`), and the budget they count against.
  let on = false;
  let budgetBytes = 0;
  let budgetPages = 0;

  const { apply, construct, defineProperty, getOwnPropertyDescriptor } = Reflect;
  const { values: objectValues, create: objectCreate, setPrototypeOf, getPrototypeOf, hasOwn } = Object;
  const { ownKeys } = Reflect;
  const { floor, min, max, trunc } = Math;
  const { isFinite, MAX_SAFE_INTEGER } = Number;
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

  function tooMuch(what, bytes, kind = 'WebAssembly memory') {
    return new RangeErrorCtor(`${what}: ${bytes} bytes of ${kind} are more than is ` +
      `left of this VM's max_heap_size (${native.available()} of ${budgetBytes} bytes)`);
  }

  // Groups nothing reaches any more give their reservations back. (Only right after a
  // collection: `deref` keeps what it returns alive until the job ends.)
  function collect() {
    native.collect();
    prune();
  }

  // Reserves `bytes`, collecting garbage first if they do not fit.
  function reserve(what, bytes, kind = undefined) {
    if (bytes === 0 || native.reserve(bytes)) return;
    collect();
    if (!native.reserve(bytes)) throw tooMuch(what, bytes, kind);
  }

  // A property descriptor that no prototype adds to.
  const descriptor = (fields) => setPrototypeOf(fields, null);

  // The value of `target`'s own data property `name` (no getter, no prototype).
  function ownValue(target, name) {
    const found = getOwnPropertyDescriptor(target, name);
    return found !== undefined && hasOwn(found, 'value') ? found.value : undefined;
  }

  function replace(name, value, target = W) {
    defineProperty(target, name, descriptor({ value, writable: true, configurable: true, enumerable: false }));
  }

  // Puts `wrapper` where the constructor `original` was, as the constructor of its
  // prototype, with its name and length.
  function standIn(wrapper, original) {
    wrapper.prototype = original.prototype;
    defineProperty(original.prototype, 'constructor',
      descriptor({ value: wrapper, writable: true, configurable: true }));
    defineProperty(wrapper, 'name', descriptor({ value: original.name }));
    defineProperty(wrapper, 'length', descriptor({ value: original.length }));
  }

  // --- Resizable ArrayBuffers and growable SharedArrayBuffers ----------------------
  // V8 reserves their address space and commits pages as they grow, with no allocator
  // call the budget sees. So each holds what it has committed (in whole pages of the
  // system) against the budget WebAssembly memories draw on: reserved before it is
  // made, resized, grown or transferred, given back after a shrink or a transfer, and
  // when nothing reaches it. Each argument is converted once, here, and V8 is given the
  // plain number, so what V8 does is what was counted; nothing runs between the count
  // and V8's change. A resizable buffer this guard did not make (one from a snapshot)
  // is taken in at its first resize, grow or transfer, and a WebAssembly memory's
  // buffer counts in its memory's reservation. Clones of one are refused
  // (web/clone.rs). The stand-ins are native functions (`native.wrap`), which call
  // these with `new.target` first and the receiver as `this`.
  const SYSTEM_PAGE = 4096;
  const bufferGroups = new WeakMapCtor(); // buffer -> its group
  const wasmBuffers = new WeakSetCtor(); // the buffers of WebAssembly memories
  let made = 0;
  let pruneAt = 1024;
  const setSize = getOwnPropertyDescriptor(Set.prototype, 'size').get;

  const pagesOf = (bytes) => floor((bytes + SYSTEM_PAGE - 1) / SYSTEM_PAGE) * SYSTEM_PAGE;

  // `value` converted once the way ToIndex converts it (ToNumber, truncated, NaN and -0
  // as 0); `undefined` stays. A number out of range is passed on for V8 to refuse.
  function integer(value) {
    if (value === undefined) return undefined;
    const n = +value; // a BigInt or a Symbol throws V8's TypeError, as there
    return n !== n ? 0 : trunc(n) + 0;
  }
  const valid = (n) => n >= 0 && n <= MAX_SAFE_INTEGER;

  // A buffer's group: one buffer, so no set of what it holds (a WeakSet each would
  // cost more heap than the group itself).
  function newGroup() {
    const group = objectCreate(null);
    group.refs = list();
    group.bytes = 0;
    return group;
  }

  // The group of `buffer`, which then holds what it holds (a buffer met for the first
  // time holds nothing yet: what it will hold is reserved in full).
  function holding(buffer) {
    let group = apply(weakMapGet, bufferGroups, [buffer]);
    if (group === undefined) {
      group = newGroup();
      joins(group, buffer);
    }
    return group;
  }

  // `buffer`, just made, is held by `group`, which counts from now on.
  function joins(group, buffer) {
    apply(arrayPush, group.refs, [new WeakRefCtor(buffer)]);
    apply(setAdd, groups, [group]);
    apply(weakMapSet, bufferGroups, [buffer, group]);
    // Groups whose buffers are gone go now and then, not only when room runs out:
    // after as many buffers again as there are groups (at least 1024), so the walk
    // costs each buffer made a constant share.
    if (++made >= pruneAt) {
      prune();
      made = 0;
      pruneAt = max(1024, apply(setSize, groups, []));
    }
  }

  // Makes `group` hold `bytes` instead of what it holds, by calling `change` (which
  // throws to refuse): the difference is reserved before, or given back after.
  function rebudget(group, bytes, what, kind, change) {
    const more = bytes - group.bytes;
    if (more > 0) reserve(what, more, kind);
    let result;
    try {
      result = change();
    } catch (e) {
      if (more > 0) native.release(more);
      throw e;
    }
    if (more < 0) native.release(-more);
    group.bytes = bytes;
    return result;
  }

  const NativeArrayBuffer = globalThis.ArrayBuffer;
  const getterOf = (proto, name) => {
    const descriptor = getOwnPropertyDescriptor(proto, name);
    return descriptor === undefined ? undefined : descriptor.get;
  };
  const arrayBufferProto = NativeArrayBuffer.prototype;
  const lengthOf = getterOf(arrayBufferProto, 'byteLength');
  const maxLengthOf = getterOf(arrayBufferProto, 'maxByteLength');
  const resizableOf = getterOf(arrayBufferProto, 'resizable');
  const detachedOf = getterOf(arrayBufferProto, 'detached');
  // Set by `guardShared`.
  let sharedLengthOf, sharedMaxLengthOf, growableOf, nativeGrow;

  // Whether `value` is one of the buffers counted here: `flag` is `resizable` or
  // `growable`, read by its internal slot (false for anything else, without a throw).
  function counted(value, flag) {
    if (apply(weakSetHas, wasmBuffers, [value])) return false;
    try {
      return apply(flag, value, []) === true;
    } catch {
      return false;
    }
  }

  // The stand-in for the constructor `Native`.
  function constructor(Native, kind) {
    const name = Native.name;
    return function (newTarget, length, options) {
      if (newTarget === undefined) return apply(Native, undefined, [length, options]); // V8's TypeError
      if (!on) return construct(Native, [length, options], newTarget);
      const byteLength = integer(length) ?? 0;
      if (!valid(byteLength)) return construct(Native, [byteLength], newTarget); // V8's RangeError
      let maxByteLength;
      if ((typeof options === 'object' && options !== null) || typeof options === 'function') {
        maxByteLength = integer(options.maxByteLength); // read once
      }
      if (maxByteLength === undefined) return construct(Native, [byteLength], newTarget);
      const given = objectCreate(null);
      given.maxByteLength = maxByteLength;
      if (!valid(maxByteLength) || byteLength > maxByteLength) {
        return construct(Native, [byteLength, given], newTarget); // V8's RangeError
      }
      const group = newGroup();
      const what = `Array buffer allocation failed (new ${name})`;
      const buffer = rebudget(group, pagesOf(byteLength), what, kind,
        () => construct(Native, [byteLength, given], newTarget));
      joins(group, buffer);
      return buffer;
    };
  }

  const nativeResize = arrayBufferProto.resize;
  function resize(newTarget, newLength) {
    if (!on || !counted(this, resizableOf)) return apply(nativeResize, this, [newLength]); // V8's TypeError
    const n = integer(newLength) ?? 0;
    // (Converting may have run code that detached, resized or transferred it.)
    if (!valid(n) || apply(detachedOf, this, []) || n > apply(maxLengthOf, this, [])) {
      return apply(nativeResize, this, [n]); // V8's error
    }
    return rebudget(holding(this), pagesOf(n), 'Array buffer allocation failed (resize)',
      'resizable ArrayBuffer', () => apply(nativeResize, this, [n]));
  }

  function grow(newTarget, newLength) {
    if (!on || !counted(this, growableOf)) return apply(nativeGrow, this, [newLength]); // V8's TypeError
    const n = integer(newLength) ?? 0;
    if (!valid(n) || n > apply(sharedMaxLengthOf, this, []) || n < apply(sharedLengthOf, this, [])) {
      return apply(nativeGrow, this, [n]); // V8's error
    }
    return rebudget(holding(this), pagesOf(n), 'Array buffer allocation failed (grow)',
      'growable SharedArrayBuffer', () => apply(nativeGrow, this, [n]));
  }

  // The stand-in for `transfer` (`keepsResizable`) or `transferToFixedLength`: the
  // buffer's memory goes back, and a resizable result holds its own (a fixed-length one
  // is the array buffer allocator's, counted there).
  function transferring(nativeMethod, keepsResizable) {
    const what = `Array buffer allocation failed (${nativeMethod.name})`;
    return function (newTarget, newLength) {
      if (!on || !counted(this, resizableOf)) return apply(nativeMethod, this, [newLength]);
      const n = integer(newLength);
      if ((n !== undefined && !valid(n)) || apply(detachedOf, this, [])) {
        return apply(nativeMethod, this, [n]); // V8's error
      }
      const length = n === undefined ? apply(lengthOf, this, []) : n;
      const bytes = keepsResizable && length <= apply(maxLengthOf, this, []) ? pagesOf(length) : 0;
      const source = holding(this);
      const result = rebudget(source, bytes, what, 'resizable ArrayBuffer',
        () => apply(nativeMethod, this, [n]));
      // What the source held (now `bytes`) moves to the result.
      source.bytes = 0;
      if (bytes > 0) {
        const group = newGroup();
        group.bytes = bytes;
        joins(group, result);
      }
      return result;
    };
  }

  function standInMethod(proto, name, impl) {
    const original = ownValue(proto, name);
    if (typeof original !== 'function') return;
    replace(name, native.wrap(impl, name, original.length, false), proto);
  }
  standInMethod(arrayBufferProto, 'resize', resize);
  standInMethod(arrayBufferProto, 'transfer',
    typeof arrayBufferProto.transfer === 'function' && transferring(arrayBufferProto.transfer, true));
  standInMethod(arrayBufferProto, 'transferToFixedLength',
    typeof arrayBufferProto.transferToFixedLength === 'function' &&
    transferring(arrayBufferProto.transferToFixedLength, false));
  // Puts the stand-in for the constructor `Native` in its place.
  // Puts the stand-in for the constructor `Native` in its place (and at `globalThis[name]`
  // when `name` is given).
  function guardConstructor(Native, kind, name) {
    const standIn = native.wrap(constructor(Native, kind), Native.name, Native.length, true);
    defineProperty(standIn, 'prototype',
      descriptor({ value: Native.prototype, writable: false, enumerable: false, configurable: false }));
    defineProperty(Native.prototype, 'constructor',
      descriptor({ value: standIn, writable: true, enumerable: false, configurable: true }));
    // The statics (`isView`, `Symbol.species`) as they were.
    const statics = ownKeys(Native);
    for (let i = 0; i < statics.length; i++) {
      const key = statics[i];
      if (key === 'prototype' || key === 'name' || key === 'length') continue;
      defineProperty(standIn, key, descriptor(getOwnPropertyDescriptor(Native, key)));
    }
    if (name !== undefined) replace(name, standIn, globalThis);
  }
  guardConstructor(NativeArrayBuffer, 'resizable ArrayBuffer', 'ArrayBuffer');

  // `global`: whether `NativeShared` is the global `SharedArrayBuffer`.
  function guardShared(NativeShared, global) {
    const sharedProto = NativeShared.prototype;
    sharedLengthOf = getterOf(sharedProto, 'byteLength');
    sharedMaxLengthOf = getterOf(sharedProto, 'maxByteLength');
    growableOf = getterOf(sharedProto, 'growable');
    nativeGrow = ownValue(sharedProto, 'grow');
    standInMethod(sharedProto, 'grow', grow);
    guardConstructor(NativeShared, 'growable SharedArrayBuffer', global ? 'SharedArrayBuffer' : undefined);
  }

  // --- WebAssembly -------------------------------------------------------------------
  function guardWasm(wasm) {
    W = wasm;
    const NativeMemory = ownValue(W, 'Memory'), NativeModule = ownValue(W, 'Module');
    const NativeInstance = ownValue(W, 'Instance');
    const nativeCompile = ownValue(W, 'compile'), nativeInstantiate = ownValue(W, 'instantiate');
    const memoryProto = NativeMemory.prototype;
    const bufferOf = getOwnPropertyDescriptor(memoryProto, 'buffer').get;
    const exportsOf = getOwnPropertyDescriptor(NativeInstance.prototype, 'exports').get;
    const moduleExports = NativeModule.exports;

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
        apply(weakSetAdd, wasmBuffers, [buffer]);
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
      if (!on || (kind !== 'object' && kind !== 'function') || descriptor === null) {
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
      apply(weakSetAdd, wasmBuffers, [value]);
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
      if (!on) return construct(NativeModule, [bytes], new.target);
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
      if (!on) return construct(NativeInstance, [module, imports], new.target);
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
      if (!on) return apply(nativeCompile, W, [bytes]);
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
      if (!on) return apply(nativeInstantiate, W, [source, imports]);
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

    standIn(Memory, NativeMemory);
    standIn(Module, NativeModule);
    standIn(Instance, NativeInstance);
    const statics = ['exports', 'imports', 'customSections'];
    for (let i = 0; i < statics.length; i++) {
      const name = statics[i], original = ownValue(NativeModule, name);
      if (typeof original === 'function') replace(name, original, Module);
    }
    defineProperty(memoryProto, 'buffer', descriptor({ get: buffer, configurable: true, enumerable: true }));
    defineProperty(buffer, 'name', descriptor({ value: 'get buffer' }));
    // Newer ways to get a memory's buffer join the group the same way.
    const getters = ['toFixedLengthBuffer', 'toResizableBuffer'];
    for (let i = 0; i < getters.length; i++) {
      const name = getters[i], original = ownValue(memoryProto, name);
      if (typeof original !== 'function') continue;
      const wrapped = {
        [name]() {
          const value = apply(original, this, []);
          apply(weakSetAdd, wasmBuffers, [value]);
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
    const streaming = ['compileStreaming', 'instantiateStreaming'];
    for (let i = 0; i < streaming.length; i++) {
      const name = streaming[i], nativeStreaming = ownValue(W, name);
      if (typeof nativeStreaming !== 'function') continue;
      const arrayBufferOf = (response) => new PromiseCtor((resolve, reject) => {
        then(apply(promiseResolve, PromiseCtor, [response]), (r) => then(r.arrayBuffer(), resolve, reject), reject);
      });
      const viaBytes = name === 'compileStreaming'
        ? function compileStreaming(source) {
          if (!on) return apply(nativeStreaming, W, [source]);
          return new PromiseCtor((resolve, reject) => then(arrayBufferOf(source), (b) => then(compile(b), resolve, reject), reject));
        }
        : function instantiateStreaming(source, imports) {
          if (!on) return apply(nativeStreaming, W, [source, imports]);
          return new PromiseCtor((resolve, reject) => then(arrayBufferOf(source), (b) => then(instantiate(b, imports), resolve, reject), reject));
        };
      replace(name, viaBytes);
    }
  }

  // The SharedArrayBuffer constructor of this context, as a shared memory of `wasm` (the
  // namespace as V8 made it) is made of: a snapshot's scripts, which run without it, may
  // have put something else (a polyfill) where V8 adds it to each context made from the
  // snapshot, and V8 then leaves theirs.
  function sharedOf(wasm) {
    const Memory = ownValue(wasm, 'Memory');
    if (typeof Memory !== 'function') return undefined;
    try {
      const memory = construct(Memory, [descriptor({ initial: 0, maximum: 0, shared: true })]);
      const bufferGetter = getterOf(ownValue(Memory, 'prototype'), 'buffer');
      return ownValue(getPrototypeOf(apply(bufferGetter, memory, [])), 'constructor');
    } catch {
      return undefined;
    }
  }

  // Whether `wasm` is V8's WebAssembly namespace (not a snapshot's own object there).
  function isWasm(wasm) {
    if (typeof wasm !== 'object' || wasm === null) return false;
    const names = ['Memory', 'Module', 'Instance'];
    for (let i = 0; i < names.length; i++) {
      const found = ownValue(wasm, names[i]);
      if (typeof found !== 'function' || typeof ownValue(found, 'prototype') !== 'object') return false;
    }
    return true;
  }

  // What is there now is guarded now; what V8 adds later (to a snapshot's context), when
  // `activate` runs (`late`).
  let sharedGuarded = false, wasmGuarded = false;
  function guardAdded(late) {
    const wasm = wasmGuarded ? undefined : ownValue(globalThis, 'WebAssembly');
    if (!sharedGuarded) {
      const global = ownValue(globalThis, 'SharedArrayBuffer');
      const shared = late && isWasm(wasm) ? sharedOf(wasm) ?? global : global;
      if (typeof shared === 'function' && typeof ownValue(shared, 'prototype') === 'object') {
        sharedGuarded = true;
        guardShared(shared, shared === global);
      }
    }
    if (isWasm(wasm)) {
      wasmGuarded = true;
      guardWasm(wasm);
    }
  }
  guardAdded(false);

  return function activate(bytes) {
    guardAdded(true);
    budgetBytes = bytes;
    budgetPages = floor(bytes / PAGE);
    on = true;
  };
});
