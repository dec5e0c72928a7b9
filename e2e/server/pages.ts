/** Fixture pages: a bare HTML shell around one bundled entry. */

const PAGES: Record<string, { entry: string; body: string }> = {
  '/app.html': {
    entry: 'app.js',
    body: '<button id="order" type="button">Place order</button><output id="result"></output>',
  },
  '/axios.html': { entry: 'axios-app.js', body: '' },
  '/outbox.html': { entry: 'outbox-app.js', body: '' },
  '/guards-outbox.html': { entry: 'guards-outbox.js', body: '<button id="pay" type="button">Pay</button>' },
  '/guard-lab.html': { entry: 'guard-lab.js', body: '' },
  '/react-lab.html': { entry: 'react-lab.js', body: '<div id="root"></div>' },
  '/guards.html': {
    entry: 'guards.js',
    body: `<form id="checkout" method="post" action="/api/orders">
  <label>Name <input name="name" value="Ada"></label>
  <button type="submit" name="intent" value="buy">Buy</button>
</form>
<button id="pay" type="button">Pay</button>`,
  },
};

export function pageHtml(pathname: string): string | undefined {
  const page = PAGES[pathname === '/' ? '/app.html' : pathname];
  if (!page) return undefined;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>submit-once e2e</title><link rel="icon" href="data:,"></head>
<body>${page.body}<script type="module" src="/build/${page.entry}"></script></body>
</html>`;
}
