// Watchlists: addresses from files (OFAC SDN CSV with "Digital Currency Address - XXX" remarks, or a plain
// CSV of addresses) and from the watchlist topic, and entities of the identity graph (a CRM customer, an
// email, a phone, an exchange account) from a plain CSV or the topic. Exact match only (OFAC FAQ 594: no
// fuzzy logic); hex and bech32 addresses are compared lowercase, entities as identity.ts normalizes them.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { normalizeAddress } from './address.ts';
import { entityOf } from './identity.ts';

/** One listed address or entity; exactly one of `address` and `entity` is set. */
export interface WatchEntry {
  /** The listed address (normalized), or null for an entity entry. */
  address: string | null;
  /** The listed entity (`customer:<system>:<object>:<id>`, `email:…`, `phone:…`, `exchange-account:…`,
   * `account:…`; see identity.ts `entityOf`), or null for an address entry. A transfer matches it when one
   * of its addresses is linked to the customer it names or is linked to. */
  entity: string | null;
  /** The listed party's name where the list gives one (OFAC: SDN_Name). */
  name: string | null;
  listId: string;
  listVersion: string;
  entryId: string | null;
  program: string | null;
  symbol: string | null;
}

export interface Watchlist {
  /** Combined version of the lists (hash of the file contents). */
  version: string;
  /** Address entries by address. */
  entries: ReadonlyMap<string, WatchEntry>;
  /** Entity entries by entity. */
  entities: ReadonlyMap<string, WatchEntry>;
}

export const EMPTY_WATCHLIST: Watchlist = { version: 'empty', entries: new Map(), entities: new Map() };

/** RFC 4180 CSV rows (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

const DIGITAL_CURRENCY = /Digital Currency Address - ([A-Za-z0-9]+)\s+([A-Za-z0-9]+)/g;

/** An SDN field's value; `-0-` is OFAC's empty. */
const sdnField = (f: string | undefined): string | null =>
  f?.trim() && f.trim() !== '-0-' ? f.trim() : null;

/** OFAC SDN CSV (`sdn.csv`: ent_num, SDN_Name, SDN_Type, Program, ..., Remarks): every "Digital Currency
 * Address - <SYMBOL> <address>" in a row's fields becomes an entry with the row's ent_num, name and
 * program. */
export function parseOfacSdn(text: string, listId: string, listVersion: string): WatchEntry[] {
  const out: WatchEntry[] = [];
  for (const row of parseCsv(text)) {
    const entryId = sdnField(row[0]);
    const name = sdnField(row[1]);
    const program = sdnField(row[3]);
    for (const field of row) {
      for (const m of field.matchAll(DIGITAL_CURRENCY)) {
        out.push({
          address: normalizeAddress(m[2]!),
          entity: null,
          name,
          listId,
          listVersion,
          entryId,
          program,
          symbol: m[1]!.toUpperCase(),
        });
      }
    }
  }
  return out;
}

/** Plain CSV: `address[,symbol[,program[,entryId[,name]]]]`, optional header row starting with `address`.
 * The first column may name an entity instead (`email:x@y.io`, `customer:hubspot:contact:42`; identity.ts
 * `entityOf`); anything else in it is an address (`bitcoincash:q…` too). */
export function parsePlainCsv(text: string, listId: string, listVersion: string): WatchEntry[] {
  const out: WatchEntry[] = [];
  for (const row of parseCsv(text)) {
    const first = row[0]?.trim();
    if (!first || first.startsWith('#') || first.toLowerCase() === 'address') continue;
    const entity = entityOf(first);
    out.push({
      address: entity ? null : normalizeAddress(first),
      entity,
      name: row[4]?.trim() || null,
      listId,
      listVersion,
      symbol: row[1]?.trim() || null,
      program: row[2]?.trim() || null,
      entryId: row[3]?.trim() || null,
    });
  }
  return out;
}

export interface WatchlistFile {
  path: string;
  format: 'ofac-sdn' | 'csv';
  /** Defaults to the file name. */
  listId?: string;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export function buildWatchlist(files: { file: WatchlistFile; text: string }[]): Watchlist {
  const entries = new Map<string, WatchEntry>();
  const entities = new Map<string, WatchEntry>();
  const versions: string[] = [];
  for (const { file, text } of files) {
    const listId = file.listId ?? basename(file.path);
    const v = hash(text);
    versions.push(`${listId}@${v}`);
    const parsed =
      file.format === 'ofac-sdn' ? parseOfacSdn(text, listId, v) : parsePlainCsv(text, listId, v);
    for (const e of parsed) {
      // The first list naming an address or entity wins (files in config order).
      const [map, k] = e.entity ? [entities, e.entity] : [entries, e.address!];
      if (!map.has(k)) map.set(k, e);
    }
  }
  return { version: versions.length ? hash(versions.join(',')) : 'empty', entries, entities };
}

export async function loadWatchlist(files: WatchlistFile[]): Promise<Watchlist> {
  return buildWatchlist(
    await Promise.all(files.map(async (file) => ({ file, text: await readFile(file.path, 'utf8') }))),
  );
}

/** Polls the files (mtime and size) and calls `onChange` with the reloaded list when any changed. Ends when
 * `signal` aborts. A file that fails to parse or read keeps the previous list and logs. */
export function watchWatchlistFiles(
  files: WatchlistFile[],
  current: Watchlist,
  onChange: (list: Watchlist) => void,
  opts: { signal: AbortSignal; logger: Logger; intervalMs?: number },
): void {
  let version = current.version;
  let stamp = '';
  let busy = false;
  const tick = async () => {
    if (busy || opts.signal.aborted) return;
    busy = true;
    try {
      const stats = await Promise.all(files.map((f) => stat(f.path)));
      const s = stats.map((x) => `${x.mtimeMs}:${x.size}`).join(',');
      if (s === stamp) return;
      stamp = s;
      const list = await loadWatchlist(files);
      if (list.version !== version) {
        version = list.version;
        opts.logger.info(
          { version, entries: list.entries.size, entities: list.entities.size },
          'watchlist reloaded',
        );
        onChange(list);
      }
    } catch (err) {
      opts.logger.warn({ err }, 'watchlist reload failed; keeping the previous list');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 2_000);
  opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
