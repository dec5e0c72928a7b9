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
  /** The prototype `reach` last found or put a layer above, and that layer (held strongly: one app's, for the process). */
  #lastProto: object | undefined;
  #lastLayer: object | undefined;

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
    // The prototype seen last, still with its layer as parent: every request of one app
    // comes here, and skips the class check and the WeakMap. The own-property checks stay:
    // something may define one of the names on the prototype at any time.
    if (proto === this.#lastProto && proto !== null && Object.getPrototypeOf(proto) === this.#lastLayer) {
      return this.#shadowed(target, proto) ? undefined : this.#lastLayer;
    }
    if (proto === null || Object.hasOwn(proto, 'constructor') || this.#shadowed(target, proto)) return undefined;
    const parent = Object.getPrototypeOf(proto) as object | null;
    let layer = this.#layers.get(proto);
    // Express re-parents an app's prototypes when it is mounted: a layer that was cut out is put back.
    if (layer === undefined || layer !== parent) {
      layer = Object.create(parent, this.define(parent)) as object;
      Object.setPrototypeOf(proto, layer);
      this.#layers.set(proto, layer);
    }
    this.#lastProto = proto;
    this.#lastLayer = layer;
    return layer;
  }

  /** Whether one of the names is the target's or its prototype's own: then it would not resolve to a layer. */
  #shadowed(target: object, proto: object): boolean {
    for (const name of this.names) if (Object.hasOwn(target, name) || Object.hasOwn(proto, name)) return true;
    return false;
  }
}
