// The JSON text of a value that JSON says exactly, or undefined (see values.rs, which
// writes every other value tag by tag). Made once per context, when it is created, from
// the intrinsics it finds then (Temporal's on first use, see below); it carries the
// context's Temporal helpers too (`exactJson.temporalText`, `exactJson.temporalFrom`).
//
// Exact means what the tagged form would give back: strings, booleans, null, finite
// numbers (not -0, no integer past 2^53), and arrays and plain objects (of
// Object.prototype or null) of those, with no `toJSON`, no `undefined` inside, no
// cycle, at most MAX_DEPTH levels. Checked first (reading each property once), then
// written by JSON.stringify, much faster than a walk through V8's API — which reads the
// properties again: getters and proxy traps run twice (docs/values.md; writing a copy
// read once instead cost 40 % more instructions per call of a 40-key result).
(function (maxDepth) {
  'use strict';
  const { stringify } = JSON;
  const { keys, getPrototypeOf } = Object;
  const { isArray } = Array;
  const { floor } = Math;
  const ObjectProto = Object.prototype, ArrayProto = Array.prototype;
  const MAX_SAFE = 9007199254740991;

  function exact(v, stack, depth) {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return true;
      case 'number':
        if (v !== v || v === Infinity || v === -Infinity || (v === 0 && 1 / v < 0)) return false;
        return !(floor(v) === v && (v > MAX_SAFE || v < -MAX_SAFE));
      case 'object': {
        if (v === null) return true;
        if (depth >= maxDepth || v.toJSON !== undefined) return false;
        for (let i = 0; i < stack.length; i++) if (stack[i] === v) return false;
        const proto = getPrototypeOf(v);
        stack[stack.length] = v;
        if (proto === ArrayProto && isArray(v)) {
          for (let i = 0, n = v.length; i < n; i++) {
            const item = v[i];
            if (item === undefined || !exact(item, stack, depth + 1)) return false;
          }
        } else if (proto === ObjectProto || proto === null) {
          const names = keys(v);
          for (let i = 0; i < names.length; i++) {
            const item = v[names[i]];
            if (item === undefined || !exact(item, stack, depth + 1)) return false;
          }
        } else {
          return false;
        }
        stack.length -= 1;
        return true;
      }
      default:
        return false;
    }
  }

  const RangeErrorCtor = RangeError;

  // Temporal values (values.rs's `T`): told apart by their intrinsic prototype, written
  // by their intrinsic toString (which checks the brand), made by their intrinsic from.
  // V8 builds the whole Temporal namespace the first time anything reads the global
  // (a quarter of a context's creation): so it is read only when a value claims to be
  // Temporal (its @@toStringTag) or one is made, once per context — the global as it is
  // then (code that replaced `Temporal` before gets its replacement's conversions).
  const call = Function.prototype.call.bind(Function.prototype.call);
  const toStringTag = Symbol.toStringTag;
  // The intrinsics used later, taken now: user code runs before the first conversion.
  const MapCtor = Map, mapGet = Map.prototype.get, mapSet = Map.prototype.set;
  const startsWith = String.prototype.startsWith;
  const describe = Object.getOwnPropertyDescriptor;
  let byPrototype, byKind;
  function intrinsics() {
    if (byKind !== undefined) return;
    const T = typeof Temporal === 'object' && Temporal !== null ? Temporal : undefined;
    const found = new MapCtor(), made = new MapCtor();
    if (T !== undefined) {
      const kinds = [
        ['I', T.Instant], ['Z', T.ZonedDateTime], ['D', T.PlainDate], ['d', T.PlainDateTime],
        ['t', T.PlainTime], ['R', T.Duration], ['Y', T.PlainYearMonth], ['M', T.PlainMonthDay],
      ];
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[i][0], C = kinds[i][1];
        if (typeof C !== 'function') continue;
        call(mapSet, found, C.prototype, [kind, C.prototype.toString]);
        call(mapSet, made, kind, [C, C.from]);
      }
      // A ZonedDateTime's toString() rounds its offset to minutes (historic offsets have
      // seconds): it goes as its exact instant and its zone, `…Z[zone][u-ca=…]`, which
      // Temporal.ZonedDateTime.from reads back as the same value.
      if (typeof T.ZonedDateTime === 'function') {
        const Z = T.ZonedDateTime.prototype;
        const zoneOf = describe(Z, 'timeZoneId').get, calendarOf = describe(Z, 'calendarId').get;
        const toInstant = Z.toInstant, instantText = T.Instant.prototype.toString;
        call(mapSet, found, Z, ['Z', function () {
          const calendar = call(calendarOf, this);
          const annotation = calendar === 'iso8601' ? '' : `[u-ca=${calendar}]`;
          return `${call(instantText, call(toInstant, this))}[${call(zoneOf, this)}]${annotation}`;
        }]);
      }
    }
    byPrototype = found;
    byKind = made;
  }

  function temporalText(value) {
    try {
      if (byPrototype === undefined) {
        const tag = value[toStringTag];
        if (typeof tag !== 'string' || !call(startsWith, tag, 'Temporal.')) return undefined;
        intrinsics();
      }
      const found = call(mapGet, byPrototype, getPrototypeOf(value));
      if (found === undefined) return undefined;
      return [found[0], call(found[1], value)];
    } catch (e) {
      return undefined; // not a Temporal value after all (a look-alike)
    }
  }

  function temporalFrom(kind, text) {
    intrinsics();
    const found = call(mapGet, byKind, kind);
    if (found === undefined) throw new TypeError(`this context has no Temporal kind ${kind}`);
    return call(found[1], found[0], text);
  }

  function exactJson(value) {
    try {
      return exact(value, [], 0) ? stringify(value) : undefined;
    } catch (e) {
      // Out of stack (a small thread): the tagged writer says so precisely.
      if (e instanceof RangeErrorCtor) return undefined;
      throw e;
    }
  }
  exactJson.temporalText = temporalText;
  exactJson.temporalFrom = temporalFrom;
  return exactJson;
})
