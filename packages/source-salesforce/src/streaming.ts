// One CDC channel over the Streaming API, with jsforce's faye client and its Replay extension. Events
// are queued as they arrive; the task takes them in order. What jsforce leaves to the caller is handled
// here, each as an item in the same queue so it lands after the events received before it:
// - a refused subscribe, including faye's silent re-subscribe after `403::Unknown client` with a replay
//   id the server no longer holds (jsforce#1709): a watcher extension sees the `/meta/subscribe` reply;
// - `401::Authentication invalid` (faye stops for good on `reconnect: none`): new token, new client;
// - a transport error: a connect response carrying events may have been lost in flight, and faye would
//   just reconnect with the same client id, so the client is replaced and re-subscribes after the last
//   replay id received: lost events are replayed, nothing received comes twice.
import { StreamingExtension } from 'jsforce/api/streaming';
import { errorMessage, type Logger } from '@tributary/sdk';
import type { Session } from './auth.ts';

export type StreamItem =
  | { kind: 'event'; data: unknown }
  | { kind: 'replay-invalid'; replayId: number; error: string; afterRehandshake: boolean }
  | { kind: 'error'; error: Error };

export interface ChannelStream {
  /** Waits for at least one item (or the signal), then returns up to `max` in arrival order. */
  take(max: number, signal: AbortSignal): Promise<StreamItem[]>;
  queued(): number;
  close(): void;
}

/** The part of faye's Client this module uses (jsforce types it loosely). */
interface FayeClient {
  subscribe(channel: string, listener: (data: unknown) => void): unknown;
  disconnect(): unknown;
  setHeader(name: string, value: string): void;
  on(event: string, listener: () => void): unknown;
}

interface BayeuxMessage {
  channel?: string;
  successful?: boolean;
  error?: string;
  subscription?: string;
  advice?: { reconnect?: string };
  ext?: { replay?: Record<string, unknown>; sfdc?: { failureReason?: string } };
  data?: { event?: { replayId?: unknown } };
}

const REPLAY_INVALID = /^400::The replayId \{(-?\d+)\} you provided was invalid/;

export interface ChannelStreamOptions {
  session: Session;
  channel: string;
  /** Replay id to subscribe after, or -1 (new events) / -2 (all retained). */
  replayFrom: number;
  logger: Logger;
  /** Faye's retry interval after a transport error, and the delay before a replaced client starts. */
  retrySec: number;
  /** Queued events above which the next long poll waits until the task has taken half of them. */
  highWater: number;
}

export function openChannelStream(o: ChannelStreamOptions): ChannelStream {
  const log = o.logger.child({ channel: o.channel });
  const items: StreamItem[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  let client: FayeClient | null = null;
  let generation = 0;
  let handshakes = 0;
  let lastReceived: number | null = null;
  let replacing: NodeJS.Timeout | null = null;
  /** A held `/meta/connect` reply: faye sends the next connect only once it has passed the extensions. */
  let held: (() => void) | null = null;

  const push = (item: StreamItem) => {
    if (closed) return;
    items.push(item);
    wake?.();
  };

  const from = () => lastReceived ?? o.replayFrom;

  function stop(c: FayeClient | null) {
    if (!c) return;
    try {
      // Tells the server to release the held long poll; then the dispatcher drops its transport so
      // faye's pending retries end instead of firing forever.
      c.disconnect();
    } catch {
      /* not connected */
    }
    // A client that is not connected (mid-handshake, or between retries) ignores disconnect() and would
    // keep re-handshaking on its own timers; faye stops those only on `reconnect: none` advice.
    const internals = c as unknown as { _advice?: { reconnect: string }; _dispatcher?: { close(): void } };
    if (internals._advice) internals._advice.reconnect = 'none';
    setTimeout(() => internals._dispatcher?.close(), 1_000).unref();
  }

  /** Replaces the client after `delayMs`; one replacement at a time. */
  function replace(reason: string, delayMs: number) {
    if (closed || replacing) return;
    const old = client;
    client = null;
    generation++;
    held = null;
    stop(old);
    log.info({ reason, replayFrom: from() }, 'salesforce stream client replaced; re-subscribing');
    replacing = setTimeout(() => {
      replacing = null;
      if (!closed) start();
    }, delayMs);
  }

  function start() {
    const gen = generation;
    const replay = new StreamingExtension.Replay(o.channel, from());
    const watcher = {
      incoming(message: BayeuxMessage, callback: (m: BayeuxMessage) => void) {
        if (gen === generation) watch(message);
        // Backpressure: a replayed backlog arrives faster than Kafka takes it. Holding the connect reply
        // holds the next long poll; the server keeps the events (and forgets an idle client after 40 s,
        // which the re-handshake path handles).
        if (message.channel === '/meta/connect' && message.successful && items.length >= o.highWater) {
          held = () => callback(message);
          return;
        }
        callback(message);
      },
    };
    const c = o.session.conn.streaming.createClient([replay, watcher]) as unknown as FayeClient;
    // jsforce builds faye's client without options; faye's default 5 s retry is too slow for a stream
    // that must catch up after a network blip. jsforce reaches into the dispatcher the same way.
    const dispatcher = (c as unknown as { _dispatcher?: { retry: number } })._dispatcher;
    if (dispatcher) dispatcher.retry = o.retrySec;
    c.on('transport:down', () => {
      if (gen === generation) replace('transport error (a response may have been lost)', o.retrySec * 1000);
    });
    client = c;
    c.subscribe(o.channel, (data: unknown) => {
      if (gen !== generation) return;
      const id = (data as BayeuxMessage['data'])?.event?.replayId;
      if (typeof id === 'number') lastReceived = id;
      push({ kind: 'event', data });
    });
  }

  function watch(m: BayeuxMessage) {
    if (m.channel === '/meta/handshake') {
      if (m.successful) {
        handshakes++;
        if (handshakes > 1)
          log.warn(
            { replayFrom: from() },
            'salesforce stream re-handshake (403::Unknown client); faye re-subscribes from the last replay id received',
          );
        return;
      }
      if (m.advice?.reconnect === 'none' || m.ext?.sfdc?.failureReason?.startsWith('401'))
        return reauthenticate(m.ext?.sfdc?.failureReason ?? m.error ?? 'handshake denied');
      return;
    }
    if (m.channel === '/meta/connect' && m.successful === false) {
      if (m.error?.startsWith('401') || m.advice?.reconnect === 'none')
        return reauthenticate(m.error ?? 'connect refused');
      if (m.error?.startsWith('403::Unknown client'))
        log.info('salesforce stream: 403::Unknown client; faye will re-handshake and re-subscribe');
      return;
    }
    if (m.channel === '/meta/subscribe' && m.subscription === o.channel && m.successful === false) {
      const error = m.error ?? 'subscribe refused';
      const hit = REPLAY_INVALID.exec(error);
      if (hit) {
        push({ kind: 'replay-invalid', replayId: Number(hit[1]), error, afterRehandshake: handshakes > 1 });
        return;
      }
      if (error.startsWith('401')) return reauthenticate(error);
      push({ kind: 'error', error: new Error(`subscribe to ${o.channel} refused: ${error}`) });
    }
  }

  let reauthing = false;
  function reauthenticate(reason: string) {
    if (reauthing || closed) return;
    reauthing = true;
    const old = client;
    client = null;
    generation++;
    held = null;
    stop(old);
    log.info({ reason }, 'salesforce stream session invalid; re-authenticating');
    o.session.refresh().then(
      () => {
        reauthing = false;
        if (!closed) start();
      },
      (err: unknown) => {
        reauthing = false;
        push({ kind: 'error', error: new Error(`re-authentication failed: ${errorMessage(err)}`) });
      },
    );
  }

  const offRefresh = o.session.onRefresh((token) => client?.setHeader('Authorization', `OAuth ${token}`));
  start();

  return {
    async take(max, signal) {
      while (items.length === 0) {
        if (signal.aborted) return [];
        await new Promise<void>((resolve) => {
          const done = () => {
            wake = null;
            signal.removeEventListener('abort', done);
            resolve();
          };
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
      const out = items.splice(0, max);
      if (held && items.length < o.highWater / 2) {
        const release = held;
        held = null;
        release();
      }
      return out;
    },
    queued: () => items.length,
    close() {
      if (closed) return;
      closed = true;
      offRefresh();
      if (replacing) clearTimeout(replacing);
      generation++;
      held = null;
      stop(client);
      client = null;
      wake?.();
    },
  };
}
