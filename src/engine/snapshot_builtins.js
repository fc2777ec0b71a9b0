// The members V8 adds to its built-ins in every context made from a snapshot (see
// `snapshot_builtins.rs`). Evaluates to `{ prepare }`; made in a creator's context
// before the scripts run, so it holds the intrinsics as V8 made them.
(() => {
  const { isExtensible, getOwnPropertyDescriptor, getOwnPropertyNames } = Object;
  const { deleteProperty } = Reflect;
  const global = globalThis;
  const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
  // Globals V8 looks up by name (not as intrinsics) to add their members.
  const byName = ['Math', 'Atomics', 'Uint8Array'];
  // `path` (`Name` or `Name.prototype`) through own data properties only (no getter runs).
  const resolve = (path) => {
    let target = global;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      const found = isObject(target) ? getOwnPropertyDescriptor(target, parts[i]) : undefined;
      if (found === undefined || !('value' in found)) return undefined;
      target = found.value;
    }
    return isObject(target) && target !== global ? target : undefined;
  };
  // Takes the members out (V8 adds its own in each context): a function or object is
  // dropped, a primitive kept to be set again. Returns `[path, name, value, …]` (no
  // JSON: its `toJSON` lookups would run the scripts' getters).
  const strip = (entries) => {
    const again = [];
    for (let i = 0; i < entries.length; i++) {
      const target = entries[i][0], path = entries[i][1], name = entries[i][2];
      const found = getOwnPropertyDescriptor(target, name);
      if (found === undefined) continue;
      if ('value' in found && !isObject(found.value) && typeof found.value !== 'symbol') {
        again[again.length] = path;
        again[again.length] = name;
        again[again.length] = found.value;
      }
      deleteProperty(target, name);
    }
    return again;
  };
  // Before the scripts: what V8 will add (`vmSide` lists a VM's bare context's members,
  // `creatorSide` a creator's). Returns the check to run after them: `{ problems, data }`,
  // `data` what to set again (`strip` now) or, with `later`, the function that strips
  // them in the final context (a warm-up runs first, with the members).
  const prepare = (vmSide, creatorSide) => {
    const added = [];
    const paths = getOwnPropertyNames(vmSide);
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i];
      const had = creatorSide[path];
      if (had === undefined) continue; // a whole built-in V8 adds (Temporal): left alone
      const names = vmSide[path].filter((name) => !had.includes(name));
      const target = names.length > 0 ? resolve(path) : undefined;
      if (target === undefined) continue;
      for (let j = 0; j < names.length; j++) {
        if (getOwnPropertyDescriptor(target, names[j]) === undefined) added[added.length] = [target, path, names[j]];
      }
    }
    const originals = byName.map((name) => resolve(name));
    return (later) => {
      const problems = [];
      for (let i = 0; i < byName.length; i++) {
        const name = byName[i];
        const found = getOwnPropertyDescriptor(global, name);
        if (originals[i] !== undefined && (found === undefined || found.value !== originals[i])) {
          problems[problems.length] = `globalThis.${name} was replaced, deleted or made an accessor`;
        }
      }
      let frozen = null;
      for (let i = 0; i < added.length; i++) {
        const target = added[i][0], path = added[i][1], name = added[i][2];
        if (!isExtensible(target)) {
          if (frozen !== target) problems[problems.length] = `${path} is frozen, sealed or not extensible`;
          frozen = target;
          continue;
        }
        const found = getOwnPropertyDescriptor(target, name);
        if (found !== undefined && !found.configurable) {
          problems[problems.length] = `${path}.${name} was defined non-configurable`;
        }
      }
      if (problems.length > 0) return { problems, data: undefined };
      return { problems, data: later ? () => strip(added) : strip(added) };
    };
  };
  return { prepare };
})()
