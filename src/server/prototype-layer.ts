/**
 * Per-request properties (the response's wrapped methods, `req.idempotency`) without
 * adding a property to the request or the response. Express swaps the prototype of both
 * (`Object.setPrototypeOf`) and adds a property after it, after which V8 makes new hidden
 * classes for every property added to that object, each time: about 3 µs a property,
 * most of what this middleware cost behind Express. A plain object made by
 * `Object.create` (Express's `app.request`, `app.response`) instead gets, once, a layer
 * inserted between it and its own prototype, which defines the properties for every
 * object of that prototype; they read the request's own state from a WeakMap.
 *
 * Objects whose prototype is a class's own (`http.ServerResponse.prototype`, a
 * subclass's) are left to their caller: there V8 shares the hidden classes of added
 * properties, and a layer would change a prototype other code shares.
 */
export class PrototypeLayer {
  /** Per prototype, the layer last inserted above it. */
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
    const proto = Object.getPrototypeOf(target) as object | null;
    if (proto === null || Object.hasOwn(proto, 'constructor')) return undefined;
    for (const name of this.names) if (Object.hasOwn(target, name) || Object.hasOwn(proto, name)) return undefined;
    const parent = Object.getPrototypeOf(proto) as object | null;
    let layer = this.#layers.get(proto);
    // Express re-parents an app's prototypes when it is mounted: a layer that was cut out is put back.
    if (layer === undefined || layer !== parent) {
      layer = Object.create(parent, this.define(parent)) as object;
      Object.setPrototypeOf(proto, layer);
      this.#layers.set(proto, layer);
    }
    return layer;
  }
}
