/**
 * `target[name]`, for a request's or a response's property read on the request path.
 * Express gives every request and response a hidden class of its own (it swaps their
 * prototype, then adds properties), so a plain read at a site that has seen a few of them
 * always misses V8's caches: its load IC goes to the runtime, which looks the name up
 * along the prototype chain and caches a handler that no later request's object uses,
 * about 2,000 instructions a read (`bench/server/instructions.ts`, callgrind). V8's
 * optimising compiler lowers `Reflect.get` to its GetProperty builtin, which looks the
 * name up without caching anything: about 750. The same property, getters included: only
 * where the read happens differs.
 */
export const readProperty = Reflect.get as <T>(target: object, name: string) => T;
