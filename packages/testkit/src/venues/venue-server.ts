// The parts both venue simulators share: one HTTP server on 127.0.0.1 for REST and websockets, a seeded
// fault injector, and counters so tests can assert a fault really happened.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface VenueFaults {
  /** Probability a live trade frame is not sent (a gap the client must fill from REST). */
  dropRate: number;
  /** Probability a live trade frame is sent twice. */
  duplicateRate: number;
  /** Probability a live trade frame is held back and sent after the next one. */
  reorderRate: number;
  /** Probability an unparseable frame is sent before a trade frame (in addition to it). */
  malformedRate: number;
  /** Every Nth REST trades request answers 429 with Retry-After (0 = never). */
  rateLimitEvery: number;
  /** Every Nth REST trades request answers 418 (IP ban) with Retry-After (0 = never). */
  banEvery: number;
  retryAfterSec: number;
  /** Close every websocket this often (0 = never): a forced disconnect, as venues do. */
  disconnectEveryMs: number;
  /** Close a connection whose unsent buffer exceeds this many bytes (a slow consumer). */
  maxBufferedBytes: number;
}

export const NO_FAULTS: VenueFaults = {
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  malformedRate: 0,
  rateLimitEvery: 0,
  banEvery: 0,
  retryAfterSec: 1,
  disconnectEveryMs: 0,
  maxBufferedBytes: 64 * 1024 * 1024,
};

export interface VenueStats {
  dropped: number;
  duplicated: number;
  reordered: number;
  malformed: number;
  rateLimited: number;
  banned: number;
  disconnects: number;
  slowConsumerDisconnects: number;
  wsConnections: number;
  /** REST requests by path (query string stripped). */
  rest: Record<string, number>;
  /** Query strings of REST trade requests, newest last (bounded), to check paging parameters. */
  tradeQueries: string[];
}

export function emptyStats(): VenueStats {
  return {
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    malformed: 0,
    rateLimited: 0,
    banned: 0,
    disconnects: 0,
    slowConsumerDisconnects: 0,
    wsConnections: 0,
    rest: {},
    tradeQueries: [],
  };
}

/** mulberry32: small seeded PRNG so fault patterns reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RestReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface VenueServerHooks {
  /** Answers a REST request; `null` = 404. */
  rest(path: string, query: URLSearchParams): RestReply | null;
  /** True for paths subject to 429/418 injection. */
  isTradesPath(path: string): boolean;
  onConnection(ws: WebSocket, path: string): void;
  onClose?(ws: WebSocket): void;
}

export interface VenueServer {
  port: number;
  faults: VenueFaults;
  stats: VenueStats;
  random: () => number;
  sockets(): Set<WebSocket>;
  /** Sends a frame, closing the socket when it is a slow consumer. */
  send(ws: WebSocket, frame: string): void;
  /** Closes every websocket now. */
  disconnectAll(): void;
  close(): Promise<void>;
}

export async function startVenueServer(
  hooks: VenueServerHooks,
  faults: Partial<VenueFaults>,
  seed: number,
): Promise<VenueServer> {
  const state = { faults: { ...NO_FAULTS, ...faults }, stats: emptyStats() };
  const random = seededRandom(seed);
  let tradeRequests = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    state.stats.rest[path] = (state.stats.rest[path] ?? 0) + 1;
    let reply: RestReply | null;
    if (hooks.isTradesPath(path)) {
      tradeRequests++;
      state.stats.tradeQueries.push(url.search);
      if (state.stats.tradeQueries.length > 1000) state.stats.tradeQueries.shift();
      const f = state.faults;
      if (f.banEvery > 0 && tradeRequests % f.banEvery === 0) {
        state.stats.banned++;
        reply = {
          status: 418,
          body: { code: -1003, msg: 'Way too many requests; IP banned (simulated).' },
          headers: { 'Retry-After': String(f.retryAfterSec) },
        };
      } else if (f.rateLimitEvery > 0 && tradeRequests % f.rateLimitEvery === 0) {
        state.stats.rateLimited++;
        reply = {
          status: 429,
          body: { code: -1003, message: 'Too many requests (simulated).' },
          headers: { 'Retry-After': String(f.retryAfterSec) },
        };
      } else reply = hooks.rest(path, url.searchParams);
    } else reply = hooks.rest(path, url.searchParams);
    if (!reply) reply = { status: 404, body: { message: `no route ${path}` } };
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  });
  const wss = new WebSocketServer({ server: http });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    state.stats.wsConnections++;
    ws.on('close', () => {
      sockets.delete(ws);
      hooks.onClose?.(ws);
    });
    ws.on('error', () => {});
    hooks.onConnection(ws, new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;

  const disconnectAll = () => {
    for (const ws of sockets) {
      state.stats.disconnects++;
      ws.terminate();
    }
  };
  let lastDisconnect = Date.now();
  const disconnector = setInterval(() => {
    const every = state.faults.disconnectEveryMs;
    if (every > 0 && Date.now() - lastDisconnect >= every) {
      lastDisconnect = Date.now();
      disconnectAll();
    }
  }, 50);

  return {
    port,
    get faults() {
      return state.faults;
    },
    set faults(f: VenueFaults) {
      state.faults = f;
    },
    stats: state.stats,
    random,
    sockets: () => sockets,
    send(ws, frame) {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > state.faults.maxBufferedBytes) {
        state.stats.slowConsumerDisconnects++;
        ws.terminate();
        return;
      }
      ws.send(frame);
    },
    disconnectAll,
    async close() {
      clearInterval(disconnector);
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Applies drop / duplicate / reorder / malformed faults to one connection's outgoing trade frames. */
export class FaultyChannel {
  private held: string | undefined;
  constructor(
    private readonly server: VenueServer,
    private readonly ws: WebSocket,
    private readonly malformed: () => string,
  ) {}

  push(frame: string): void {
    const { faults, stats, random } = this.server;
    if (faults.malformedRate > 0 && random() < faults.malformedRate) {
      stats.malformed++;
      this.server.send(this.ws, this.malformed());
    }
    if (faults.dropRate > 0 && random() < faults.dropRate) {
      stats.dropped++;
      return;
    }
    if (this.held === undefined && faults.reorderRate > 0 && random() < faults.reorderRate) {
      stats.reordered++;
      this.held = frame;
      return;
    }
    this.server.send(this.ws, frame);
    if (faults.duplicateRate > 0 && random() < faults.duplicateRate) {
      stats.duplicated++;
      this.server.send(this.ws, frame);
    }
    if (this.held !== undefined) {
      const h = this.held;
      this.held = undefined;
      this.server.send(this.ws, h);
    }
  }
}
