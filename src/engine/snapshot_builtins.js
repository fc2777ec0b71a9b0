// Made in a snapshot creator's context before the scripts run: finds the members that V8
// adds to its built-ins in every context made from a snapshot (Promise.try, Math.sumPrecise,
// Error.stackTraceLimit…: those `vmSide`, the members of a VM's bare context, has and
// `creatorSide`, a creator's bare context's, lacks) and returns the check to run after
// the scripts. V8 aborts the
// process when it cannot add one (the built-in is frozen, or the member is there: a
// polyfill), so the check removes polyfills (VMs get V8's own), keeps the other values
// the scripts set (to set again in each context), and reports what cannot be undone.
// It holds the intrinsics themselves, so the scripts cannot change what it sees.
(vmSide, creatorSide) => {
  const { isExtensible, getOwnPropertyDescriptor, getOwnPropertyNames } = Object;
  const { deleteProperty, get } = Reflect;
  const global = globalThis;
  const isObject = (v) => v !== null && (typeof v === 'object' || typeof v === 'function');
  const added = [];
  const paths = getOwnPropertyNames(vmSide);
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    const had = creatorSide[path];
    if (had === undefined) continue; // a whole built-in V8 adds (Temporal): left alone
    const names = vmSide[path].filter((name) => !had.includes(name));
    if (names.length === 0) continue;
    const dot = path.indexOf('.');
    let target = get(global, dot < 0 ? path : path.slice(0, dot));
    if (dot >= 0 && isObject(target)) target = get(target, path.slice(dot + 1));
    if (!isObject(target) || target === global) continue;
    for (let j = 0; j < names.length; j++) {
      if (getOwnPropertyDescriptor(target, names[j]) === undefined) {
        added[added.length] = [target, path, names[j]];
      }
    }
  }
  return () => {
    const problems = [];
    const reapply = [];
    let frozen = null;
    for (let i = 0; i < added.length; i++) {
      const target = added[i][0], path = added[i][1], name = added[i][2];
      if (!isExtensible(target)) {
        if (frozen !== target) problems[problems.length] = `${path} is frozen, sealed or not extensible`;
        frozen = target;
        continue;
      }
      const found = getOwnPropertyDescriptor(target, name);
      if (found === undefined) continue;
      if (!found.configurable) {
        problems[problems.length] = `${path}.${name} was defined non-configurable`;
        continue;
      }
      if ('value' in found && typeof found.value !== 'function') {
        reapply[reapply.length] = path;
        reapply[reapply.length] = name;
        reapply[reapply.length] = found.value;
      }
      deleteProperty(target, name);
    }
    return { problems, reapply };
  };
}
