/**
 * Imported first by `bindings-page.ts`: turns every configurable global into a logging
 * accessor and wraps every method and accessor of the page's Web IDL interfaces (and a few
 * JS built-ins a click reaches: `Date.now`, `JSON`, `Math.random`), so that one submission
 * can list each browser binding it touches, in order, with the function that touched it.
 */
const ECMASCRIPT = new Set(
  'Object Function Array Number Boolean String Symbol Date Promise RegExp Error AggregateError EvalError RangeError ReferenceError SyntaxError TypeError URIError JSON Math Intl ArrayBuffer SharedArrayBuffer Atomics DataView Map Set WeakMap WeakSet WeakRef FinalizationRegistry Proxy Reflect BigInt Iterator globalThis WebAssembly console Infinity NaN undefined eval isFinite isNaN parseFloat parseInt decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape Int8Array Uint8Array Uint8ClampedArray Int16Array Uint16Array Int32Array Uint32Array Float16Array Float32Array Float64Array BigInt64Array BigUint64Array DisposableStack AsyncDisposableStack SuppressedError'.split(' '),
);

export interface Touch {
  phase: string;
  name: string;
  by: string;
}

export const bindings = { recording: false, phase: '', log: [] as Touch[] };
let inside = false;
const stackOf = Error;

function note(name: string): void {
  if (!bindings.recording || inside) return;
  inside = true;
  try {
    // The first frame outside this module: which of our functions (or axios's) touched it.
    const lines = (new stackOf().stack ?? '').split('\n').slice(3);
    const frame = lines.find((line) => !line.includes('log-bindings')) ?? '';
    const by = /at (?:async )?([^ ]+) \(/.exec(frame)?.[1] ?? frame.trim().slice(3, 60);
    bindings.log.push({ phase: bindings.phase, name, by });
  } finally {
    inside = false;
  }
}

function wrapFunction(owner: object, key: string | symbol, label: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(owner, key);
  if (!descriptor || !descriptor.configurable) return;
  if ('value' in descriptor && typeof descriptor.value === 'function' && key !== 'constructor') {
    const original = descriptor.value as (...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      note(label);
      return new.target ? Reflect.construct(original, args, new.target) : original.apply(this, args);
    };
    Object.defineProperty(owner, key, { ...descriptor, value: wrapped });
  } else if (descriptor.get || descriptor.set) {
    const { get, set } = descriptor;
    Object.defineProperty(owner, key, {
      ...descriptor,
      get: get && function (this: unknown) {
        note(`${label} (get)`);
        return get.call(this);
      },
      set: set && function (this: unknown, value: unknown) {
        note(`${label} (set)`);
        set.call(this, value);
      },
    });
  }
}

const global = globalThis as unknown as Record<string, unknown>;
for (const name of Object.getOwnPropertyNames(globalThis)) {
  if (ECMASCRIPT.has(name) || name.startsWith('webkit')) continue;
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, name)!;
  const value = 'value' in descriptor ? descriptor.value : undefined;
  if (typeof value === 'function' && /^[A-Z]/.test(name) && value.prototype) {
    for (const key of Object.getOwnPropertyNames(value.prototype)) wrapFunction(value.prototype, key, `${name}.prototype.${key}`);
    for (const key of Object.getOwnPropertyNames(value)) if (!['prototype', 'length', 'name'].includes(key)) wrapFunction(value, key, `${name}.${key}`);
  }
  if (!descriptor.configurable) continue;
  if ('value' in descriptor) {
    // A read of the global itself (`typeof indexedDB`, `x instanceof Request`, `fetch(...)`).
    let current = value;
    const wrapped = typeof value === 'function' && !/^[A-Z]/.test(name)
      ? function (this: unknown, ...args: unknown[]) {
          note(`${name}()`);
          return (current as (...a: unknown[]) => unknown).apply(this === undefined ? globalThis : this, args);
        }
      : undefined;
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: descriptor.enumerable ?? false,
      get() {
        note(`global ${name}`);
        return wrapped ?? current;
      },
      set(next: unknown) {
        current = next;
      },
    });
  } else wrapFunction(globalThis, name, `global ${name}`);
}
for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(globalThis))) wrapFunction(Object.getPrototypeOf(globalThis), name, `Window.prototype.${name}`);
wrapFunction(Date, 'now', 'Date.now');
wrapFunction(Math, 'random', 'Math.random');
wrapFunction(JSON, 'parse', 'JSON.parse');
wrapFunction(JSON, 'stringify', 'JSON.stringify');
void global;
