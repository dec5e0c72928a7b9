/**
 * Between the browser and the verifier: serves the chaos page and its bundle, and forwards
 * each trial's API requests to that trial's verifier, injecting the trial's faults (lost
 * responses, 503s, resets, cut connections). Page and API share one origin, so the page
 * needs no CORS; the lane `/t/<id>/` picks the trial.
 */
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyFault } from './schedule.js';

export interface Lane {
  faults: readonly ProxyFault[];
  /** The verifier's port; read per request (the same across a kill -9 and restart). */
  port: () => number;
  /** What happened to each API request, in arrival order, for the violation report. */
  log: string[];
}

// Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const LANE = /^\/t\/([A-Za-z0-9_-]+)(\/.*)$/;

export class FaultProxy {
  readonly #lanes = new Map<string, Lane & { seen: number }>();
  #server: Server | undefined;

  constructor(
    private readonly bundle: ReadonlyMap<string, string>,
    private readonly entry: string,
  ) {}

  open(id: string, lane: Lane): void {
    this.#lanes.set(id, { ...lane, seen: 0 });
  }

  close(id: string): void {
    this.#lanes.delete(id);
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => this.#route(req, res));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    // No socket is reused: Chromium silently resends a request once when a reused
    // keep-alive socket dies before the answer, which would swallow injected resets.
    res.setHeader('connection', 'close');
    res.setHeader('cache-control', 'no-store');
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    if (req.method === 'GET' && url.pathname.startsWith('/build/')) {
      const code = this.bundle.get(url.pathname.slice('/build/'.length));
      if (code !== undefined) {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(code);
        return;
      }
    }
    const match = LANE.exec(url.pathname);
    const lane = match ? this.#lanes.get(match[1] as string) : undefined;
    if (!match || !lane) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such lane');
      return;
    }
    const rest = match[2] as string;
    if (req.method === 'GET' && rest === '/chaos.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>chaos</title><link rel="icon" href="data:,"></head><body><script type="module" src="/build/${this.entry}"></script></body></html>`);
      return;
    }
    if (!rest.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such page');
      return;
    }
    const n = lane.seen++;
    const fault = lane.faults[n] ?? { kind: 'pass' };
    const note = (what: string): void => {
      lane.log.push(`#${n} ${req.method ?? ''} ${what}`);
    };
    if (fault.kind === '503') {
      note('503 injected');
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
      res.end('injected 503');
      return;
    }
    if (fault.kind === 'reset') {
      note('reset before forwarding');
      req.socket.destroy();
      return;
    }
    this.#forward(req, res, lane.port(), url.search, rest, fault, note);
  }

  #forward(req: IncomingMessage, res: ServerResponse, port: number, search: string, path: string, fault: ProxyFault, note: (what: string) => void): void {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    headers.connection = 'close';
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: path + search, headers });
    let answered = false;
    // Like a real reverse proxy, a browser that goes away takes the verifier's request with
    // it: the verifier sees its client disconnect (an SDK timeout, a reload, going offline).
    res.on('close', () => {
      if (answered) return;
      answered = true;
      note('browser left before the answer; verifier request cancelled');
      upstream.destroy();
    });
    if (fault.kind === 'cut') {
      setTimeout(() => {
        if (answered) return;
        answered = true;
        note(`cut after ${fault.ms} ms`);
        upstream.destroy();
        req.socket.destroy();
      }, fault.ms);
    }
    upstream.on('response', (upstreamRes) => {
      const chunks: Buffer[] = [];
      upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
      upstreamRes.on('error', () => req.socket.destroy());
      upstreamRes.on('end', () => {
        if (answered) return;
        answered = true;
        const status = upstreamRes.statusCode ?? 502;
        if (fault.kind === 'lose-response') {
          note(`verifier answered ${status}, response lost`);
          req.socket.destroy();
          return;
        }
        note(`verifier answered ${status}`);
        const out: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(upstreamRes.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        out['content-length'] = Buffer.concat(chunks).length;
        res.writeHead(status, out);
        res.end(Buffer.concat(chunks));
      });
    });
    upstream.on('error', (error) => {
      if (answered || res.headersSent || res.destroyed) return;
      answered = true;
      // The verifier is down (killed, restarting): what a load balancer would answer.
      note(`verifier unreachable (${(error as NodeJS.ErrnoException).code ?? error.message}), 502`);
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('verifier unreachable');
    });
    req.pipe(upstream);
  }
}
