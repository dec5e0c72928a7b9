/**
 * Marks elements busy (`disabled`, `aria-busy`) while a submission is pending and puts
 * back exactly what was there before, so a guard never leaves a page in a state the page
 * did not set itself: the focus too, which disabling a focused button sends to `<body>`.
 */

interface Saved {
  element: Element;
  disabled: boolean | undefined;
  ariaBusy: string | null;
}

/**
 * Sets `aria-busy="true"` on every element and `disabled` on those that have it;
 * returns the function that restores their previous state.
 *
 * @example
 * const restore = markBusy([form, ...submitButtons])
 * await send()
 * restore()
 */
export function markBusy(elements: Iterable<Element>): () => void {
  const saved: Saved[] = [];
  let focused: Element | undefined;
  for (const element of elements) {
    if (element === document.activeElement) focused = element;
    const disabled = hasDisabled(element) ? element.disabled : undefined;
    saved.push({ element, disabled, ariaBusy: element.getAttribute('aria-busy') });
    element.setAttribute('aria-busy', 'true');
    if (hasDisabled(element)) element.disabled = true;
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const { element, disabled, ariaBusy } of saved) {
      if (ariaBusy === null) element.removeAttribute('aria-busy');
      else element.setAttribute('aria-busy', ariaBusy);
      if (disabled !== undefined && hasDisabled(element)) element.disabled = disabled;
    }
    // A keyboard user's next Tab goes on from the button they pressed, not from the top of
    // the page; focus the page moved meanwhile (to an error message, say) stays where it is.
    const active = document.activeElement;
    if (focused && (!active || active === document.body)) (focused as HTMLElement).focus({ preventScroll: true });
  };
}

function hasDisabled(element: Element): element is Element & { disabled: boolean } {
  return typeof (element as { disabled?: unknown }).disabled === 'boolean';
}
