/** A caller's signal that counts the 'abort' listeners still on it (until it aborts). */
export function countedSignal() {
  const controller = new AbortController();
  const { signal } = controller;
  const live = new Set<EventListenerOrEventListenerObject>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) => {
    if (type === 'abort') live.add(listener);
    add(type, listener, options);
  };
  signal.removeEventListener = (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions) => {
    if (type === 'abort') live.delete(listener);
    remove(type, listener, options);
  };
  return { controller, signal, listeners: () => live.size };
}
