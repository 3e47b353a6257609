// The optional webhook receiver: an HTTP endpoint for HubSpot's webhook deliveries that checks the v3
// signature, drops redeliveries by event key, and answers 2xx only once the Kafka transaction holding the
// events has committed (the runtime reports commits through `onCommitted`). Until then the request waits;
// past `ackTimeoutMs` it answers 503 and HubSpot redelivers (the key dedupe then drops what did commit).
// Without `onCommitted` (a task run in-process, no worker), a delivery is acknowledged once its batch has
// been handed over, i.e. when the consumer asks for the next batch: there is no transaction to wait for.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Signature } from '@hubspot/api-client';
import { z } from 'zod';
import {
  deadLetter,
  withRetry,
  type Logger,
  type SourceBatch,
  type SourceMetrics,
  type SourceRecord,
} from '@tributary/sdk';
import type { WebhookConfig } from './config.ts';
import { webhookKey, webhookRecord, type WebhookEvent } from './normalize.ts';

/** The source partition of webhook deliveries (cannot clash with an object type name). */
export const WEBHOOK_PARTITION = '@webhooks';

export const webhookOffsetSchema = z.object({
  v: z.literal(1),
  /** Delivery sequence number of the last committed batch. */
  seq: z.number().int().nonnegative(),
  /** Keys of recently committed events, oldest first. */
  recent: z.array(z.string()),
});
export type WebhookOffset = z.infer<typeof webhookOffsetSchema>;

const eventSchema = z.looseObject({
  eventId: z.union([z.number(), z.string()]),
  subscriptionId: z.union([z.number(), z.string()]),
  subscriptionType: z.string().regex(/^[a-z_]+\.[A-Za-z]+$/),
  objectId: z.union([z.number(), z.string().regex(/^\d+$/)]),
  occurredAt: z.number().int().nonnegative(),
});

// HubSpot decodes these percent-encoded characters in the URI before signing.
const DECODE: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
const decodeUri = (u: string) =>
  u.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODE[m.toUpperCase()]!);

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };

/** Checks X-HubSpot-Signature-v3 over method + URI + body + timestamp (the client's Signature computes the
 * HMAC; the comparison here is constant-time and the timestamp check also refuses ones from the future). */
export function verifySignatureV3(o: {
  clientSecret: string;
  method: string;
  uri: string;
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
  maxAgeMs: number;
  now?: number;
}): Verdict {
  if (!o.signature || !o.timestamp) return { ok: false, status: 401, reason: 'missing signature headers' };
  const ts = Number(o.timestamp);
  if (!Number.isInteger(ts)) return { ok: false, status: 401, reason: 'bad timestamp' };
  const age = (o.now ?? Date.now()) - ts;
  if (age > o.maxAgeMs || age < -o.maxAgeMs) return { ok: false, status: 401, reason: 'timestamp too old' };
  const expected = Signature.getSignature(o.method, 'v3', {
    signature: o.signature,
    clientSecret: o.clientSecret,
    requestBody: o.body,
    url: decodeUri(o.uri),
    timestamp: ts,
  });
  const a = Buffer.from(expected);
  const b = Buffer.from(o.signature);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return { ok: false, status: 401, reason: 'bad signature' };
  return { ok: true };
}

interface Delivery {
  seq: number;
  records: SourceRecord[];
  keys: string[];
}

export interface ReceiverContext {
  connector: string;
  config: WebhookConfig;
  offsets: ReadonlyMap<string, unknown>;
  signal: AbortSignal;
  logger: Logger;
  metrics: SourceMetrics;
  onCommitted?(listener: (offsets: ReadonlyMap<string, unknown>) => void): () => void;
  /** Called once the server listens (tests learn the port). */
  onListening?(port: number): void;
}

export async function* receiveWebhooks(ctx: ReceiverContext): AsyncGenerator<SourceBatch<WebhookOffset>> {
  const cfg = ctx.config;
  const log = ctx.logger;
  const start = ctx.offsets.get(WEBHOOK_PARTITION);
  const committedOffset =
    start === undefined ? { v: 1 as const, seq: 0, recent: [] } : webhookOffsetSchema.parse(start);
  // Keys in the last yielded offset (committed or about to be), oldest first, and a set for lookups.
  const recent = [...committedOffset.recent];
  const recentSet = new Set(recent);
  let committedSeq = committedOffset.seq;
  let nextSeq = committedOffset.seq;
  /** Keys accepted but not committed yet -> the delivery seq that carries them. */
  const uncommitted = new Map<string, number>();
  const queue: Delivery[] = [];
  const waiters = new Set<{ seq: number; done: (ok: boolean) => void }>();
  let wake: (() => void) | null = null;
  const stats = { accepted: 0, duplicates: 0, rejected: 0 };

  const settle = () => {
    for (const w of waiters)
      if (w.seq <= committedSeq) {
        waiters.delete(w);
        w.done(true);
      }
    for (const [k, seq] of uncommitted) if (seq <= committedSeq) uncommitted.delete(k);
  };
  const unsubscribe = ctx.onCommitted?.((offsets) => {
    const o = offsets.get(WEBHOOK_PARTITION) as WebhookOffset | undefined;
    if (o && o.seq > committedSeq) {
      committedSeq = o.seq;
      settle();
    }
  });

  const waitFor = (seq: number): Promise<boolean> => {
    if (seq <= committedSeq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { seq, done: resolve };
      waiters.add(w);
      const timer = setTimeout(() => {
        waiters.delete(w);
        resolve(false);
      }, cfg.ackTimeoutMs);
      timer.unref();
    });
  };

  const reply = (res: ServerResponse, status: number, body?: unknown) => {
    if (res.headersSent) return;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(body === undefined ? '' : JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (req.method !== 'POST' || url.split('?')[0] !== cfg.path)
      return reply(res, 404, { message: 'not found' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > cfg.maxBodyBytes) return reply(res, 413, { message: 'body too large' });
      chunks.push(c);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const uri = cfg.publicUrl ?? `http://${req.headers.host ?? `${cfg.host}:${cfg.port}`}${url}`;
    const verdict = verifySignatureV3({
      clientSecret: cfg.clientSecret.reveal(),
      method: 'POST',
      uri,
      body,
      signature: header(req, 'x-hubspot-signature-v3'),
      timestamp: header(req, 'x-hubspot-request-timestamp'),
      maxAgeMs: cfg.maxAgeMs,
    });
    if (!verdict.ok) {
      stats.rejected++;
      log.warn({ reason: verdict.reason, remote: req.socket.remoteAddress }, 'hubspot webhook rejected');
      return reply(res, verdict.status, { message: verdict.reason });
    }
    let events: unknown;
    try {
      events = JSON.parse(body);
    } catch {
      events = undefined;
    }
    if (!Array.isArray(events)) return reply(res, 400, { message: 'expected a JSON array of events' });

    const records: SourceRecord[] = [];
    const keys: string[] = [];
    let waitSeq = 0;
    const seq = nextSeq + 1;
    for (const raw of events) {
      const p = eventSchema.safeParse(raw);
      const e = p.success ? (p.data as WebhookEvent) : null;
      const key = e ? webhookKey(e) : null;
      if (key !== null && (recentSet.has(key) || uncommitted.has(key) || keys.includes(key))) {
        stats.duplicates++;
        waitSeq = Math.max(waitSeq, uncommitted.get(key) ?? 0);
        continue;
      }
      const rec = e ? webhookRecord(e) : null;
      if (!e || !rec) {
        const reason = e ? 'unsupported-webhook-event' : 'malformed-webhook-event';
        ctx.metrics.skipped(reason);
        records.push(
          deadLetter({
            connector: ctx.connector,
            reason,
            error: p.success
              ? `no change record for ${e?.subscriptionType}`
              : p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            sourceRef: key ? `hubspot:webhook:${key}` : 'hubspot:webhook',
            payload: JSON.stringify(raw),
          }),
        );
      } else records.push(rec);
      if (key !== null) keys.push(key);
    }
    if (records.length) {
      nextSeq = seq;
      for (const k of keys) uncommitted.set(k, seq);
      queue.push({ seq, records, keys });
      stats.accepted += keys.length;
      waitSeq = seq;
      wake?.();
    }
    const ok = await waitFor(waitSeq);
    reply(res, ok ? 204 : 503, ok ? undefined : { message: 'not committed in time; retry' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn({ err }, 'hubspot webhook handler failed');
      reply(res, 500, { message: 'internal error' });
    });
  });
  // A restarted task may find the port still held by its previous instance for a moment.
  await withRetry(
    () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(cfg.port, cfg.host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    { what: 'webhook receiver listen', signal: ctx.signal, logger: log, retries: 10, minTimeoutMs: 200 },
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  log.info({ host: cfg.host, port, path: cfg.path, committedSeq }, 'hubspot webhook receiver listening');
  ctx.onListening?.(port);

  const stop = () => {
    for (const w of waiters) w.done(false);
    waiters.clear();
    server.closeAllConnections();
    server.close();
  };
  ctx.signal.addEventListener('abort', () => wake?.(), { once: true });
  try {
    while (!ctx.signal.aborted) {
      if (!queue.length) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      const batch = queue.splice(0, queue.length);
      for (const dlv of batch)
        for (const k of dlv.keys) {
          recent.push(k);
          recentSet.add(k);
        }
      while (recent.length > cfg.dedupeKeys) recentSet.delete(recent.shift()!);
      const last = batch.at(-1)!.seq;
      yield {
        partition: WEBHOOK_PARTITION,
        records: batch.flatMap((b) => b.records),
        offset: { v: 1, seq: last, recent: [...recent] },
      };
      if (!ctx.onCommitted) {
        // No worker, no transaction: handed over is as durable as it gets.
        committedSeq = Math.max(committedSeq, last);
        settle();
      }
    }
  } finally {
    unsubscribe?.();
    stop();
    log.info(stats, 'hubspot webhook receiver stopped');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
