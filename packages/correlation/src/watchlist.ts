// Watchlists: addresses from files (OFAC SDN CSV with "Digital Currency Address - XXX" remarks, or a plain
// CSV of addresses) and from the watchlist topic. Exact match only (OFAC FAQ 594: no fuzzy logic);
// hex and bech32 addresses are compared lowercase.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { normalizeAddress } from './address.ts';

export interface WatchEntry {
  address: string;
  listId: string;
  listVersion: string;
  entryId: string | null;
  program: string | null;
  symbol: string | null;
}

export interface Watchlist {
  /** Combined version of the lists (hash of the file contents). */
  version: string;
  entries: ReadonlyMap<string, WatchEntry>;
}

export const EMPTY_WATCHLIST: Watchlist = { version: 'empty', entries: new Map() };

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

/** OFAC SDN CSV (`sdn.csv`: ent_num, SDN_Name, SDN_Type, Program, ..., Remarks): every "Digital Currency
 * Address - <SYMBOL> <address>" in a row's fields becomes an entry with the row's ent_num and program. */
export function parseOfacSdn(text: string, listId: string, listVersion: string): WatchEntry[] {
  const out: WatchEntry[] = [];
  for (const row of parseCsv(text)) {
    const entryId = row[0]?.trim() || null;
    const program = row[3]?.trim() && row[3].trim() !== '-0-' ? row[3].trim() : null;
    for (const field of row) {
      for (const m of field.matchAll(DIGITAL_CURRENCY)) {
        out.push({
          address: normalizeAddress(m[2]!),
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

/** Plain CSV: `address[,symbol[,program[,entryId]]]`, optional header row starting with `address`. */
export function parsePlainCsv(text: string, listId: string, listVersion: string): WatchEntry[] {
  const out: WatchEntry[] = [];
  for (const row of parseCsv(text)) {
    const address = row[0]?.trim();
    if (!address || address.startsWith('#') || address.toLowerCase() === 'address') continue;
    out.push({
      address: normalizeAddress(address),
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
  const versions: string[] = [];
  for (const { file, text } of files) {
    const listId = file.listId ?? basename(file.path);
    const v = hash(text);
    versions.push(`${listId}@${v}`);
    const parsed =
      file.format === 'ofac-sdn' ? parseOfacSdn(text, listId, v) : parsePlainCsv(text, listId, v);
    for (const e of parsed) if (!entries.has(e.address)) entries.set(e.address, e);
  }
  return { version: versions.length ? hash(versions.join(',')) : 'empty', entries };
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
        opts.logger.info({ version, entries: list.entries.size }, 'watchlist reloaded');
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
