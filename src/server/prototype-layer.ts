/**
 * Per-request properties (the response's wrapped methods, `req.idempotency`) without
 * adding a property to the request or the response. Express swaps the prototype of both
 * (`Object.setPrototypeOf`) and adds a property after it, after which V8 makes new hidden
 * classes for every property added to that object, each time: about 3 µs a property,
 * most of what this middleware cost behind Express. A plain object made by
 * `Object.create` (Express's `app.request`, `app.response`) instead gets, once, a layer
 * inserted into its prototype chain, which defines the properties for every object of
 * that prototype; they read the request's own state from a WeakMap.
 *
 * The layer goes under the deepest such object, just above the class's prototype (for
 * Express, under its base `response`, which every app's prototypes inherit from): Express
 * sets an app's prototypes on a request entering it and the outer app's back on its way
 * out, so a layer above one app's prototype would be left behind by a request its guard
 * claimed that another app answers (`app.use('/api', orders); app.use('/api', users)`).
 *
 * Objects whose prototype is a class's own (`http.ServerResponse.prototype`, a
 * subclass's) are left to their caller: there V8 shares the hidden classes of added
 * properties, and a layer would change a prototype other code shares.
 */
export class PrototypeLayer {
  /** Per prototype, the layer last inserted under it. */
  readonly #layers = new WeakMap<object, object>();

  /**
   * @param names The properties the layer defines.
   * @param define Their descriptors, given the prototype the layer sits on (to delegate to).
   */
  constructor(
    private readonly names: readonly string[],
    private readonly define: (parent: object | null) => PropertyDescriptorMap,
  ) {}

  /**
   * The layer `target`'s properties `names` resolve to (inserted if needed), or undefined
   * when they would not resolve to it: then the caller must set them on `target` itself.
   */
  reach(target: object): object | undefined {
    let proto = Object.getPrototypeOf(target) as object | null;
    if (proto === null || Object.hasOwn(proto, 'constructor') || this.#defines(target)) return undefined;
    for (;;) {
      // Any object above the layer defining one of the names would shadow it.
      if (this.#defines(proto)) return undefined;
      const parent = Object.getPrototypeOf(proto) as object | null;
      const layer = this.#layers.get(proto);
      if (layer !== undefined && layer === parent) return layer;
      if (parent !== null && !Object.hasOwn(parent, 'constructor')) {
        proto = parent;
        continue;
      }
      // The deepest plain object: the layer goes under it (again, if something cut it out).
      const inserted = Object.create(parent, this.define(parent)) as object;
      Object.setPrototypeOf(proto, inserted);
      this.#layers.set(proto, inserted);
      return inserted;
    }
  }

  #defines(object: object): boolean {
    for (const name of this.names) if (Object.hasOwn(object, name)) return true;
    return false;
  }
}
