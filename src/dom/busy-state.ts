/**
 * Marks elements busy (`disabled`, `aria-busy`) while a submission is pending and puts
 * back exactly what was there before, so a guard never leaves a page in a state the page
 * did not set itself: the focus too, which disabling a focused button sends to `<body>`.
 */

/** An element's state before its first busy mark, and how many marks it holds now. */
interface Saved {
  disabled: boolean | undefined;
  ariaBusy: string | null;
  marks: number;
}

/**
 * Per element, not per mark: a button busy for two guards at once (its own and its form's)
 * got back, from the mark that ended last, the `disabled` the other had set: for good.
 */
const busy = new WeakMap<Element, Saved>();

/**
 * Sets `aria-busy="true"` on every element and `disabled` on those that have it;
 * returns the function that restores their previous state once no other mark holds them.
 *
 * @example
 * const restore = markBusy([form, ...submitButtons])
 * await send()
 * restore()
 */
export function markBusy(elements: Iterable<Element>): () => void {
  const marked: Element[] = [];
  let focused: Element | undefined;
  for (const element of elements) {
    if (element === document.activeElement) focused = element;
    const saved = busy.get(element);
    if (saved) saved.marks += 1;
    else busy.set(element, { disabled: hasDisabled(element) ? element.disabled : undefined, ariaBusy: element.getAttribute('aria-busy'), marks: 1 });
    marked.push(element);
    element.setAttribute('aria-busy', 'true');
    if (hasDisabled(element)) element.disabled = true;
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const element of marked) {
      const saved = busy.get(element);
      if (!saved || --saved.marks > 0) continue;
      busy.delete(element);
      if (saved.ariaBusy === null) element.removeAttribute('aria-busy');
      else element.setAttribute('aria-busy', saved.ariaBusy);
      if (saved.disabled !== undefined && hasDisabled(element)) element.disabled = saved.disabled;
    }
    // A keyboard user's next Tab goes on from the button they pressed, not from the top of
    // the page; focus the page moved meanwhile (to an error message, say) stays where it is.
    const active = document.activeElement;
    if (focused && !busy.has(focused) && (!active || active === document.body)) (focused as HTMLElement).focus({ preventScroll: true });
  };
}

function hasDisabled(element: Element): element is Element & { disabled: boolean } {
  return typeof (element as { disabled?: unknown }).disabled === 'boolean';
}
