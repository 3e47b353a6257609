// The Streaming API's CometD/Bayeux long-polling endpoint (/cometd/<version>): handshake, connect (held
// until events arrive or the advised timeout), subscribe with the replay extension, unsubscribe,
// disconnect. Reply shapes and error strings follow what Salesforce sends (see the CRM notes): the
// replay-id rejection text, `403::Unknown client` with `reconnect: handshake`, and
// `401::Authentication invalid` with `reconnect: none`.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ALL_CHANGE_EVENTS, entityChannel, type CdcEvent, type Org } from './org.ts';

type Msg = Record<string, unknown> & { channel?: string; id?: string; clientId?: string };

interface Held {
  res: ServerResponse;
  replies: Msg[];
  connect: Msg;
  timer: NodeJS.Timeout;
}

interface BayeuxClient {
  id: string;
  /** Subscribed channel -> replay id of the last event delivered on it. */
  subs: Map<string, number>;
  held: Held | null;
  lastActive: number;
  flushScheduled: boolean;
}

export interface CometdOptions {
  /** How long a connect is held without events (Salesforce advises 110 s). */
  connectTimeoutMs: () => number;
  maxEventsPerConnect: number;
  /** A client that has not reconnected for this long is forgotten (Salesforce: 40 s). */
  clientIdleMs: number;
  /** True to lose a connect response carrying events in flight (socket destroyed after the server sent). */
  dropResponse: () => boolean;
  checkToken: (token: string | null) => string | null;
}

export interface CometdStats {
  handshakes: number;
  connects: number;
  subscribes: { channel: string; replayFrom: number | null; ok: boolean; error?: string }[];
  delivered: number;
  droppedResponses: number;
  unknownClientReplies: number;
  authFailures: number;
}

export const replayIdInvalid = (id: number) =>
  `400::The replayId {${id}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;

export function createCometd(org: Org, o: CometdOptions) {
  const clients = new Map<string, BayeuxClient>();
  const stats: CometdStats = {
    handshakes: 0,
    connects: 0,
    subscribes: [],
    delivered: 0,
    droppedResponses: 0,
    unknownClientReplies: 0,
    authFailures: 0,
  };

  const advice = () => ({ reconnect: 'retry', interval: 0, timeout: o.connectTimeoutMs() });

  const knownChannel = (ch: string) =>
    ch === ALL_CHANGE_EVENTS || org.objects().some((s) => entityChannel(s.name) === ch);

  function lookup(id: unknown): BayeuxClient | null {
    const c = typeof id === 'string' ? clients.get(id) : undefined;
    if (!c) return null;
    if (!c.held && Date.now() - c.lastActive > o.clientIdleMs) {
      clients.delete(c.id);
      return null;
    }
    c.lastActive = Date.now();
    return c;
  }

  function eventMessages(c: BayeuxClient): Msg[] {
    const out: Msg[] = [];
    for (const [channel, cursor] of c.subs) {
      const room = o.maxEventsPerConnect - out.length;
      if (room <= 0) break;
      const evs = org.eventsAfter(cursor, channel).slice(0, room);
      for (const e of evs) out.push(dataMessage(channel, e));
      if (evs.length) c.subs.set(channel, evs.at(-1)!.replayId);
    }
    stats.delivered += out.length;
    return out;
  }

  function dataMessage(channel: string, e: CdcEvent): Msg {
    return { channel, data: { schema: e.schema, payload: e.payload, event: { replayId: e.replayId } } };
  }

  function hasEvents(c: BayeuxClient): boolean {
    for (const [channel, cursor] of c.subs) if (org.eventsAfter(cursor, channel).length) return true;
    return false;
  }

  function send(res: ServerResponse, msgs: Msg[]) {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(msgs));
  }

  function connectReply(c: BayeuxClient, connect: Msg): Msg {
    return { channel: '/meta/connect', clientId: c.id, id: connect.id, successful: true, advice: advice() };
  }

  /** Answers a held connect now with whatever is deliverable. */
  function release(c: BayeuxClient) {
    const h = c.held;
    if (!h) return;
    c.held = null;
    clearTimeout(h.timer);
    c.lastActive = Date.now();
    const events = eventMessages(c);
    if (events.length && o.dropResponse()) {
      stats.droppedResponses++;
      h.res.destroy();
      return;
    }
    send(h.res, [...h.replies, ...events, connectReply(c, h.connect)]);
  }

  const unsubscribeListener = org.onEvent((e) => {
    for (const c of clients.values()) {
      if (!c.held || c.flushScheduled) continue;
      if (![...c.subs.keys()].some((ch) => ch === ALL_CHANGE_EVENTS || ch === e.channel)) continue;
      c.flushScheduled = true;
      // Events of one transaction are published in one tick: deliver them together.
      setImmediate(() => {
        c.flushScheduled = false;
        release(c);
      });
    }
  });

  const unknownClient = (m: Msg): Msg => {
    stats.unknownClientReplies++;
    return {
      channel: m.channel,
      id: m.id,
      successful: false,
      error: '403::Unknown client',
      advice: { reconnect: 'handshake', interval: 0 },
    };
  };

  const authInvalid = (m: Msg, c: BayeuxClient | null): Msg => {
    stats.authFailures++;
    return {
      clientId: c?.id,
      channel: m.channel,
      id: m.id,
      successful: false,
      error: '401::Authentication invalid',
      advice: { reconnect: 'none', interval: 0 },
    };
  };

  function subscribe(c: BayeuxClient, m: Msg): Msg {
    const channel = typeof m.subscription === 'string' ? m.subscription : '';
    const base = { channel: '/meta/subscribe', clientId: c.id, subscription: channel, id: m.id };
    const ext = (m.ext ?? {}) as { replay?: Record<string, unknown> };
    const raw = ext.replay?.[channel];
    const replayFrom = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : null;
    const fail = (error: string): Msg => {
      stats.subscribes.push({ channel, replayFrom, ok: false, error });
      return { ...base, successful: false, error };
    };
    if (!knownChannel(channel))
      return fail(`400::The channel you requested to subscribe to does not exist {${channel}}`);
    const from = replayFrom ?? -1;
    if (!Number.isFinite(from) || !org.replayable(from)) return fail(replayIdInvalid(from));
    const cursor = from === -1 ? org.head() : from === -2 ? org.purgedUpTo() : from;
    c.subs.set(channel, cursor);
    stats.subscribes.push({ channel, replayFrom, ok: true });
    return { ...base, successful: true };
  }

  return {
    stats,
    clients: () => clients.size,
    /** Handles one POST body (already parsed) from a client presenting `token`. */
    handle(body: unknown, token: string | null, res: ServerResponse): void {
      const msgs = (Array.isArray(body) ? body : [body]) as Msg[];
      const authed = o.checkToken(token) !== null;
      const replies: Msg[] = [];
      let connect: { c: BayeuxClient; m: Msg } | null = null;
      for (const m of msgs) {
        if (!m || typeof m !== 'object') {
          replies.push({ successful: false, error: '400::Invalid message' });
          continue;
        }
        switch (m.channel) {
          case '/meta/handshake': {
            if (!authed) {
              stats.authFailures++;
              replies.push({
                channel: '/meta/handshake',
                id: m.id,
                successful: false,
                error: '403::Handshake denied',
                advice: { reconnect: 'none' },
                ext: { sfdc: { failureReason: '401::Authentication invalid' }, replay: true },
              });
              break;
            }
            stats.handshakes++;
            const c: BayeuxClient = {
              id: randomBytes(16).toString('hex'),
              subs: new Map(),
              held: null,
              lastActive: Date.now(),
              flushScheduled: false,
            };
            clients.set(c.id, c);
            replies.push({
              channel: '/meta/handshake',
              id: m.id,
              version: '1.0',
              minimumVersion: '1.0',
              clientId: c.id,
              supportedConnectionTypes: ['long-polling'],
              ext: { replay: true, 'payload.format': true },
              advice: advice(),
              successful: true,
            });
            break;
          }
          case '/meta/connect': {
            stats.connects++;
            const c = lookup(m.clientId);
            if (!c) replies.push(unknownClient(m));
            else if (!authed) replies.push(authInvalid(m, c));
            else {
              if (c.held) release(c);
              connect = { c, m };
            }
            break;
          }
          case '/meta/subscribe': {
            const c = lookup(m.clientId);
            replies.push(!c ? unknownClient(m) : !authed ? authInvalid(m, c) : subscribe(c, m));
            break;
          }
          case '/meta/unsubscribe': {
            const c = lookup(m.clientId);
            if (!c) replies.push(unknownClient(m));
            else {
              c.subs.delete(String(m.subscription));
              replies.push({
                channel: '/meta/unsubscribe',
                clientId: c.id,
                subscription: m.subscription,
                id: m.id,
                successful: true,
              });
            }
            break;
          }
          case '/meta/disconnect': {
            const c = lookup(m.clientId);
            if (c) {
              release(c);
              clients.delete(c.id);
            }
            replies.push({ channel: '/meta/disconnect', clientId: m.clientId, id: m.id, successful: true });
            break;
          }
          default:
            replies.push({ channel: m.channel, id: m.id, successful: false, error: '403::Publish denied' });
        }
      }
      if (!connect) return send(res, replies);
      const { c, m } = connect;
      const immediate =
        replies.length > 0 || (m.advice as { timeout?: number } | undefined)?.timeout === 0 || hasEvents(c);
      if (immediate) {
        const events = eventMessages(c);
        if (events.length && o.dropResponse()) {
          stats.droppedResponses++;
          res.destroy();
          return;
        }
        return send(res, [...replies, ...events, connectReply(c, m)]);
      }
      const timer = setTimeout(() => release(c), o.connectTimeoutMs());
      c.held = { res, replies, connect: m, timer };
      res.on('close', () => {
        if (c.held?.res === res) {
          clearTimeout(c.held.timer);
          c.held = null;
        }
      });
    },
    /** The server forgets every client: held and later connects get `403::Unknown client`. */
    forgetClients() {
      for (const c of clients.values()) {
        if (!c.held) continue;
        clearTimeout(c.held.timer);
        send(c.held.res, [unknownClient(c.held.connect)]);
        c.held = null;
      }
      clients.clear();
    },
    /** Drops the TCP connection of every held connect (the clients stay known). */
    dropHeld(): number {
      let n = 0;
      for (const c of clients.values()) {
        if (!c.held) continue;
        clearTimeout(c.held.timer);
        c.held.res.destroy();
        c.held = null;
        n++;
      }
      return n;
    },
    close() {
      unsubscribeListener();
      for (const c of clients.values()) if (c.held) clearTimeout(c.held.timer);
      clients.clear();
    },
  };
}
