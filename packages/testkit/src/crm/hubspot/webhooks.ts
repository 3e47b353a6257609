// HubSpot's webhook delivery: batched JSON arrays of events POSTed to the app's target URL, signed with
// X-HubSpot-Signature-v3 (HMAC-SHA256 over method + URI + body + timestamp with the app's client secret,
// base64) and X-HubSpot-Request-Timestamp, retried with backoff while the target answers non-2xx.
import { createHash, createHmac } from 'node:crypto';

export interface HubSpotWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  objectTypeId?: string;
  sourceId?: string;
}

export interface WebhookSenderOptions {
  url: string;
  clientSecret: string;
  /** Events per request (HubSpot sends up to 100). */
  batchSize?: number;
  flushMs?: number;
  /** Attempts per batch before it is dropped (HubSpot: 10 over a day; here a test's time scale). */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** Probability an acknowledged batch is delivered once more (HubSpot delivers at least once). */
  duplicateRate?: number;
  random?: () => number;
}

export interface WebhookStats {
  /** Events acknowledged with 2xx (counting each event once). */
  delivered: number;
  attempts: number;
  failedAttempts: number;
  duplicatesSent: number;
  dropped: number;
  /** Event ids acknowledged, in order of acknowledgement. */
  deliveredIds: number[];
}

/** Event-name prefix HubSpot uses per object type; other types use `object.*` with `objectTypeId`. */
const PREFIX: Record<string, string> = {
  contacts: 'contact',
  companies: 'company',
  deals: 'deal',
  tickets: 'ticket',
  products: 'product',
  line_items: 'line_item',
};

export function subscriptionPrefix(objectType: string): { prefix: string; objectTypeId?: string } {
  const p = PREFIX[objectType];
  return p ? { prefix: p } : { prefix: 'object', objectTypeId: objectType };
}

/** The v3 signature of a request exactly as sent. */
export function signV3(
  clientSecret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: number,
): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

export interface WebhookSender {
  enqueue(events: Omit<HubSpotWebhookEvent, 'attemptNumber'>[]): void;
  stats: WebhookStats;
  /** Events waiting or in flight. */
  pending(): number;
  /** Resolves when nothing is pending (or rejects after `timeoutMs`). */
  drain(timeoutMs?: number): Promise<void>;
  close(): void;
}

export function startWebhookSender(o: WebhookSenderOptions): WebhookSender {
  const batchSize = o.batchSize ?? 100;
  const maxAttempts = o.maxAttempts ?? 50;
  const random = o.random ?? Math.random;
  const queue: HubSpotWebhookEvent[] = [];
  const stats: WebhookStats = {
    delivered: 0,
    attempts: 0,
    failedAttempts: 0,
    duplicatesSent: 0,
    dropped: 0,
    deliveredIds: [],
  };
  let inFlight: HubSpotWebhookEvent[] | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const post = async (events: HubSpotWebhookEvent[]): Promise<boolean> => {
    const body = JSON.stringify(events);
    const timestamp = Date.now();
    stats.attempts++;
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'X-HubSpot-Signature-v3': signV3(o.clientSecret, 'POST', o.url, body, timestamp),
          'X-HubSpot-Request-Timestamp': String(timestamp),
          // The legacy v1 signature rides along, as HubSpot keeps sending it.
          'X-HubSpot-Signature': createHash('sha256')
            .update(o.clientSecret + body)
            .digest('hex'),
          'X-HubSpot-Signature-Version': 'v1',
        },
        body,
        signal: AbortSignal.timeout(o.requestTimeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  };

  const loop = async () => {
    while (!closed) {
      if (queue.length === 0) {
        await new Promise<void>((r) => (timer = setTimeout(r, o.flushMs ?? 50)));
        continue;
      }
      const batch = queue.splice(0, batchSize);
      inFlight = batch;
      let attempt = 0;
      let ok = false;
      while (!closed && attempt < maxAttempts) {
        const events = batch.map((e) => ({ ...e, attemptNumber: attempt }));
        ok = await post(events);
        if (ok) {
          if (random() < (o.duplicateRate ?? 0)) {
            stats.duplicatesSent++;
            await post(events);
          }
          break;
        }
        stats.failedAttempts++;
        attempt++;
        const wait = Math.min(o.retryMaxMs ?? 2_000, (o.retryBaseMs ?? 100) * 2 ** Math.min(attempt, 10));
        await new Promise<void>((r) => (timer = setTimeout(r, wait * (0.5 + random() / 2))));
      }
      if (ok) {
        stats.delivered += batch.length;
        for (const e of batch) stats.deliveredIds.push(e.eventId);
      } else if (!closed) stats.dropped += batch.length;
      inFlight = null;
    }
  };
  void loop();

  return {
    enqueue(events) {
      for (const e of events) queue.push({ ...e, attemptNumber: 0 });
    },
    stats,
    pending: () => queue.length + (inFlight?.length ?? 0),
    async drain(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length > 0 || inFlight) {
        if (Date.now() > deadline) throw new Error(`webhook sender: ${queue.length} events still queued`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
