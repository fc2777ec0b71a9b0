// The `console` of a v8rs context (web group `console`): Node's, in what it prints.
// Each call's text is formatted as Node's `util.format` does (objects by its
// `util.inspect`, vendored in inspect.js and loaded on the first call that needs it)
// and handed to `native.consoleWrite(level, text)`, which gives it to the VM's sink;
// V8's own console gets the same call, so an attached DevTools inspector shows it.
(function installConsole(native, v8Console) {
  'use strict';

  const DEBUG = 0, LOG = 1, INFO = 2, WARN = 3, ERROR = 4;
  const kOurs = Symbol.for('v8rs.console');
  if (v8Console && v8Console[kOurs]) return v8Console;

  const NAMES = ['debug', 'log', 'info', 'warn', 'error'];
  let write = native.consoleWrite;
  const now = native.now;
  const { is: ObjectIs, keys: ObjectKeys, values: ObjectValues, hasOwn } = Object;
  const { isArray } = Array;
  const { max: MathMax, floor: MathFloor } = Math;
  const StringRepeat = (s, n) => (n > 0 ? String.prototype.repeat.call(s, n) : '');
  const captureStackTrace = Error.captureStackTrace;

  let util;
  const inspectModule = () => (util ??= native.loadInspect()({
    promiseDetails: native.promiseDetails,
    proxyDetails: native.proxyDetails,
    previewEntries: native.previewEntries,
  }));

  // util.format, without loading util.inspect when every argument is a plain
  // primitive and the first has no `%` directive.
  function format(args) {
    const n = args.length;
    if (n === 1 && typeof args[0] === 'string') return args[0];
    let text = '';
    for (let i = 0; i < n; i++) {
      const value = args[i];
      const type = typeof value;
      let piece;
      if (type === 'string') {
        if (i === 0 && value.includes('%')) return inspectModule().format(...args);
        piece = value;
      } else if (type === 'number') {
        piece = ObjectIs(value, -0) ? '-0' : `${value}`;
      } else if (type === 'boolean' || value === undefined || value === null) {
        piece = `${value}`;
      } else {
        return inspectModule().format(...args);
      }
      text = i === 0 ? piece : `${text} ${piece}`;
    }
    return text;
  }

  let indent = '';
  function emit(level, text) {
    if (typeof text !== 'string') text = format([text]); // a stack made by prepareStackTrace
    if (indent.length !== 0) {
      if (text.includes('\n')) text = text.replace(/\n/g, `\n${indent}`);
      text = indent + text;
    }
    write(level, text);
  }

  // The same call on V8's console, for an attached inspector (silent otherwise).
  function forward(method, args) {
    const f = v8Console?.[method];
    if (typeof f === 'function') Reflect.apply(f, v8Console, args);
  }

  const counts = new Map();
  const timers = new Map();

  // Node's formatTime (lib/internal/console/constructor.js).
  function formatTime(ms) {
    let hours = 0, minutes = 0, seconds = 0;
    if (ms >= 1000) {
      if (ms >= 60000) {
        if (ms >= 3600000) {
          hours = MathFloor(ms / 3600000);
          ms %= 3600000;
        }
        minutes = MathFloor(ms / 60000);
        ms %= 60000;
      }
      seconds = ms / 1000;
    }
    const pad = (value) => String(value).padStart(2, '0');
    if (hours !== 0 || minutes !== 0) {
      const [whole, fraction] = seconds.toFixed(3).split('.');
      const res = hours !== 0 ? `${hours}:${pad(minutes)}` : minutes;
      return `${res}:${pad(whole)}.${fraction} (${hours !== 0 ? 'h:m' : ''}m:ss.mmm)`;
    }
    if (seconds !== 0) return `${seconds.toFixed(3)}s`;
    return `${Number(ms.toFixed(3))}ms`;
  }

  function elapsed(label, method) {
    const start = timers.get(label);
    if (start === undefined) {
      emit(WARN, `Warning: No such label '${label}' for console.${method}()`);
      return undefined;
    }
    return formatTime(now() - start);
  }

  // Node's console.table (lib/internal/cli_table.js; cells left-aligned as in Node
  // 20.17+), widths in code points.
  const width = (s) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };
  function renderRow(row, widths) {
    let out = '│ ';
    for (let i = 0; i < row.length; i++) {
      const cell = row[i];
      out += cell + StringRepeat(' ', widths[i] - width(cell));
      if (i !== row.length - 1) out += ' │ ';
    }
    return out + ' │';
  }
  function cliTable(head, columns) {
    const rows = [];
    const widths = head.map(width);
    const longest = MathMax(...columns.map((column) => column.length));
    for (let i = 0; i < head.length; i++) {
      const column = columns[i];
      for (let j = 0; j < longest; j++) {
        rows[j] ??= [];
        const value = (rows[j][i] = hasOwn(column, j) ? column[j] : '');
        widths[i] = MathMax(widths[i] || 0, width(value));
      }
    }
    const divider = widths.map((w) => StringRepeat('─', w + 2));
    let result = `┌${divider.join('┬')}┐\n${renderRow(head, widths)}\n├${divider.join('┼')}┤\n`;
    for (const row of rows) result += `${renderRow(row, widths)}\n`;
    return result + `└${divider.join('┴')}┘`;
  }

  function table(data, properties) {
    if (properties !== undefined && !isArray(properties)) {
      throw new TypeError('The "properties" argument must be an instance of Array');
    }
    if (data === null || typeof data !== 'object') return format([data]);
    const { inspect } = inspectModule();
    const kind = native.collectionKind;
    const show = (v) => {
      const depth = v !== null && typeof v === 'object' && !isArray(v) && ObjectKeys(v).length > 2 ? -1 : 0;
      return inspect(v, { depth, maxArrayLength: 3, breakLength: Infinity });
    };
    const indexes = (length) => Array.from({ length }, (_, i) => show(i));
    const mapIterator = kind(data) === 3;
    let keyValue = false;
    if (mapIterator) [data, keyValue] = native.previewEntries(data, true);
    if (keyValue || kind(data) === 1) {
      const keys = [], values = [];
      if (mapIterator) {
        for (let i = 0; i < data.length / 2; i++) {
          keys.push(show(data[i * 2]));
          values.push(show(data[i * 2 + 1]));
        }
      } else {
        for (const [k, v] of data) {
          keys.push(show(k));
          values.push(show(v));
        }
      }
      return cliTable(['(iteration index)', 'Key', 'Values'], [indexes(keys.length), keys, values]);
    }
    const setIterator = kind(data) === 4;
    if (setIterator) data = native.previewEntries(data, false);
    if (setIterator || mapIterator || kind(data) === 2) {
      const values = [];
      for (const v of data) values.push(show(v));
      return cliTable(['(iteration index)', 'Values'], [indexes(values.length), values]);
    }
    const map = { __proto__: null };
    let hasPrimitives = false;
    const primitives = [];
    const indexKeys = ObjectKeys(data);
    for (let i = 0; i < indexKeys.length; i++) {
      const item = data[indexKeys[i]];
      const primitive = item === null || (typeof item !== 'function' && typeof item !== 'object');
      if (properties === undefined && primitive) {
        hasPrimitives = true;
        primitives[i] = show(item);
      } else {
        for (const key of properties || ObjectKeys(item)) {
          map[key] ??= [];
          map[key][i] = (primitive && properties) || !hasOwn(item, key) ? '' : show(item[key]);
        }
      }
    }
    const keys = ObjectKeys(map), values = ObjectValues(map);
    if (hasPrimitives) {
      keys.push('Values');
      values.push(primitives);
    }
    keys.unshift('(index)');
    values.unshift(indexKeys);
    return cliTable(keys, values);
  }

  const console = {
    log(...args) { emit(LOG, format(args)); forward('log', args); },
    info(...args) { emit(INFO, format(args)); forward('info', args); },
    debug(...args) { emit(DEBUG, format(args)); forward('debug', args); },
    warn(...args) { emit(WARN, format(args)); forward('warn', args); },
    error(...args) { emit(ERROR, format(args)); forward('error', args); },
    dirxml(...args) { emit(LOG, format(args)); forward('dirxml', args); },
    dir(object, options) {
      emit(LOG, inspectModule().inspect(object, { customInspect: false, ...options }));
      forward('dir', [object]);
    },
    table(data, properties) {
      emit(LOG, table(data, properties));
      forward('table', properties === undefined ? [data] : [data, properties]);
    },
    trace: function trace(...args) {
      const error = { name: 'Trace', message: format(args) };
      captureStackTrace(error, trace);
      emit(ERROR, error.stack);
      forward('trace', args);
    },
    assert(expression, ...args) {
      if (!expression) {
        args[0] = `Assertion failed${args.length === 0 ? '' : `: ${args[0]}`}`;
        emit(WARN, format(args));
      }
      forward('assert', [expression, ...args]);
    },
    count(label = 'default') {
      label = `${label}`;
      const count = (counts.get(label) ?? 0) + 1;
      counts.set(label, count);
      emit(LOG, `${label}: ${count}`);
      forward('count', [label]);
    },
    countReset(label = 'default') {
      label = `${label}`;
      if (!counts.has(label)) {
        emit(WARN, `Warning: Count for '${label}' does not exist`);
      } else {
        counts.delete(label);
      }
      forward('countReset', [label]);
    },
    group(...data) {
      if (data.length > 0) emit(LOG, format(data));
      indent += '  ';
      forward('group', data);
    },
    groupCollapsed(...data) {
      if (data.length > 0) emit(LOG, format(data));
      indent += '  ';
      forward('groupCollapsed', data);
    },
    groupEnd() {
      indent = indent.slice(0, indent.length - 2);
      forward('groupEnd', []);
    },
    time(label = 'default') {
      label = `${label}`;
      if (timers.has(label)) {
        emit(WARN, `Warning: Label '${label}' already exists for console.time()`);
      } else {
        timers.set(label, now());
      }
      forward('time', [label]);
    },
    timeEnd(label = 'default') {
      label = `${label}`;
      const time = elapsed(label, 'timeEnd');
      if (time !== undefined) {
        timers.delete(label);
        emit(LOG, `${label}: ${time}`);
      }
      forward('timeEnd', [label]);
    },
    timeLog(label = 'default', ...data) {
      label = `${label}`;
      const time = elapsed(label, 'timeLog');
      if (time !== undefined) {
        emit(LOG, data.length === 0 ? `${label}: ${time}` : inspectModule().format('%s: %s', label, time, ...data));
      }
      forward('timeLog', [label, ...data]);
    },
    clear() { forward('clear', []); },
    profile(...args) { forward('profile', args); },
    profileEnd(...args) { forward('profileEnd', args); },
    timeStamp(...args) { forward('timeStamp', args); },
  };
  Object.defineProperty(console, kOurs, { value: true });
  // For the command line's REPL and `-p`: a value as the REPL and console.log show it.
  Object.defineProperty(console, Symbol.for('v8rs.console.inspect'), {
    value: (value) => inspectModule().inspect(value),
  });
  // For the Node group's `util`: the whole vendored module (inspect, format…).
  Object.defineProperty(console, Symbol.for('v8rs.console.util'), {
    value: () => inspectModule(),
  });
  Object.defineProperty(console, Symbol.for('v8rs.console.format'), {
    value: (...args) => format(args),
  });
  // Sends this context's output to `send(levelName, text)` instead (expose_console).
  Object.defineProperty(console, Symbol.for('v8rs.console.redirect'), {
    value(send) {
      if (typeof send !== 'function') throw new TypeError('the console redirect must be a function');
      write = (level, text) => send(NAMES[level], text);
    },
  });
  Object.defineProperty(console, Symbol.toStringTag, { value: 'console', configurable: true });
  return console;
});
