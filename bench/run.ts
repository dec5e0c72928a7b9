/**
 * `npm run bench`: the client's cost on the submit path, in real headless Chromium against
 * a loopback server, and the fingerprint's cost in Node. Every figure is printed as a
 * ratio to a baseline measured in the same run; nothing here asserts a time.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { fingerprintOf } from '../src/core/fingerprint.js';
import { bundleEntry } from '../scripts/bundle.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);

function bundlePage(): Promise<string> {
  return bundleEntry(fileURLToPath(new URL('./browser/page.ts', import.meta.url)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function table(title: string, rows: Array<[string, number, string]>, baseline: number): void {
  console.log(`\n${title}`);
  for (const [name, value, unit] of rows) {
    console.log(`  ${name.padEnd(42)} ${value.toFixed(3).padStart(9)} ${unit}   x${(value / baseline).toFixed(2)}`);
  }
}

async function browserBench(): Promise<void> {
  const code = await bundlePage();
  let orders = 0;
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><script type="module" src="/page.js"></script>');
    } else if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(code);
    } else {
      req.resume();
      req.on('end', () => {
        orders += 1;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(`{"id":${orders}}`);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  const browser = await chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    // localhost is a secure context, as most apps' dev and production origins are.
    await page.goto(`http://localhost:${port}/`);
    await page.waitForFunction(() => 'bench' in window);
    const samples = await page.evaluate(
      ([rounds, requests]) => (window as unknown as { bench: (r: number, n: number) => Promise<Record<string, number[]>> }).bench(rounds!, requests!),
      [ROUNDS, REQUESTS],
    );
    const rows = Object.entries(samples).map(([name, values]) => [name, median(values), 'ms/request'] as [string, number, string]);
    table(`Submit path in headless Chromium, loopback POST (median of ${ROUNDS} rounds x ${REQUESTS} sequential requests)`, rows, rows[0]![1]);
  } finally {
    await browser.close();
    server.close();
  }
}

function nodeBench(): void {
  const bodies = Array.from({ length: 2000 }, (_, i) => ({ cart: [{ sku: `sku-${i}`, qty: i % 5 }], address: { city: 'Lyon', zip: '69001' }, note: 'x'.repeat(200) }));
  const time = (fn: () => void): number => {
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = performance.now();
      fn();
      rounds.push(((performance.now() - start) * 1000) / bodies.length);
    }
    return median(rounds);
  };
  const baseline = time(() => {
    for (const body of bodies) JSON.stringify({ method: 'POST', url: 'https://shop.test/orders', body });
  });
  const fp = time(() => {
    for (const body of bodies) fingerprintOf({ method: 'POST', url: 'https://shop.test/orders?b=1&a=2', body });
  });
  table('Fingerprint of a ~300-byte JSON cart in Node (median of 7 rounds x 2000)', [
    ['JSON.stringify of the request (baseline)', baseline, 'us/op'],
    ['fingerprintOf (canonical JSON + URL + hash)', fp, 'us/op'],
  ], baseline);
}

nodeBench();
await browserBench();
