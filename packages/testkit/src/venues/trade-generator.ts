// Deterministic trade history for the venue simulators: trade `id` of a symbol always has the same price,
// size and aggressor, so a test can check every field that reaches Kafka against `tradeAt(symbol, id)`.

export interface GeneratedTrade {
  /** Venue trade id: rises by one per symbol, starting at `firstId`. */
  id: number;
  /** Exact decimal strings with the venue's fixed scale (trailing zeros kept, as venues send them). */
  price: string;
  amount: string;
  /** True when the buyer was the resting (maker) order, so the taker sold. */
  buyerIsMaker: boolean;
  /** Venue (matching engine) time, ms since the epoch. */
  time: number;
}

export interface TradeGeneratorOptions {
  symbols: string[];
  /** Trades per second per symbol while running; 0 = as fast as `maxPerTick` allows. */
  ratePerSec: number;
  /** Stop after this many trades per symbol (unbounded when absent). */
  total?: number;
  /** Trades that exist before the first tick (history for backfill). Default 0. */
  prefill?: number;
  firstId?: number;
  seed?: number;
  /** Trades kept per symbol for REST paging; older ones are forgotten (bounded memory). */
  retain?: number;
  /** Decimal places of price and amount. */
  priceScale?: number;
  amountScale?: number;
  /** Upper bound per symbol per tick at ratePerSec 0. */
  maxPerTick?: number;
  /** Asked per symbol at every tick: how many trades it may produce now at most. A venue paced by its
   * consumer (benchmarks: ratePerSec 0 then means "as fast as the consumer keeps up", not a flood that
   * overruns it). Unlimited when absent. */
  allowance?: (symbol: string) => number;
}

/** 32-bit mix (splitmix-style): a pure function of its inputs, no state. */
function mix(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function symbolIndex(symbol: string): number {
  let h = 0;
  for (const ch of symbol) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h;
}

function scaled(units: bigint, scale: number): string {
  const s = units.toString().padStart(scale + 1, '0');
  return scale === 0 ? s : `${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

export class TradeGenerator {
  readonly symbols: string[];
  private readonly o: Required<Omit<TradeGeneratorOptions, 'total' | 'allowance'>> & { total: number };
  private readonly allowance: ((symbol: string) => number) | undefined;
  private readonly history = new Map<string, GeneratedTrade[]>();
  /** Next id to generate per symbol. */
  private readonly nextId = new Map<string, number>();
  private startedAt = 0;
  private produced = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(symbol: string, trades: GeneratedTrade[]) => void>();

  constructor(opts: TradeGeneratorOptions) {
    this.symbols = [...opts.symbols];
    this.o = {
      symbols: this.symbols,
      ratePerSec: opts.ratePerSec,
      total: opts.total ?? Number.POSITIVE_INFINITY,
      prefill: opts.prefill ?? 0,
      firstId: opts.firstId ?? 1,
      seed: opts.seed ?? 42,
      retain: opts.retain ?? 200_000,
      priceScale: opts.priceScale ?? 8,
      amountScale: opts.amountScale ?? 8,
      maxPerTick: opts.maxPerTick ?? 2_000,
    };
    this.allowance = opts.allowance;
    for (const s of this.symbols) {
      this.history.set(s, []);
      this.nextId.set(s, this.o.firstId);
      this.produce(s, Math.min(this.o.prefill, this.o.total), Date.now());
    }
  }

  /** The trade `id` of `symbol` as the generator defines it (whether or not produced yet). */
  tradeAt(symbol: string, id: number, time = 0): GeneratedTrade {
    const k = symbolIndex(symbol);
    const r1 = mix(this.o.seed, k, id);
    const r2 = mix(this.o.seed + 1, k, id);
    // Price walks around 100..1000 (per symbol) with the last digits random; sizes are small and exact.
    const base = 100n + BigInt(k % 900);
    const priceUnits = base * 10n ** BigInt(this.o.priceScale) + BigInt(r1 % 1_000_000);
    const amountUnits = BigInt((r2 % 5_000_000) + 1);
    return {
      id,
      price: scaled(priceUnits, this.o.priceScale),
      amount: scaled(amountUnits, this.o.amountScale),
      buyerIsMaker: (r1 & 1) === 1,
      time,
    };
  }

  /** Ids 1..n produced so far per symbol, inclusive of prefill: first and last. */
  range(symbol: string): { first: number; last: number } {
    const h = this.history.get(symbol) ?? [];
    return { first: h[0]?.id ?? this.o.firstId, last: (this.nextId.get(symbol) ?? this.o.firstId) - 1 };
  }

  /** Trades with `id >= fromId`, ascending, at most `limit` (from the retained history). */
  from(symbol: string, fromId: number, limit: number): GeneratedTrade[] {
    const h = this.history.get(symbol) ?? [];
    if (h.length === 0) return [];
    const start = Math.max(0, fromId - h[0]!.id);
    return h.slice(start, start + limit);
  }

  /** The newest `limit` trades, ascending. */
  recent(symbol: string, limit: number): GeneratedTrade[] {
    const h = this.history.get(symbol) ?? [];
    return h.slice(Math.max(0, h.length - limit));
  }

  /** Called with every newly produced group of trades of one symbol. */
  onTrades(listener: (symbol: string, trades: GeneratedTrade[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once every symbol has produced `total` trades. */
  get done(): boolean {
    return this.symbols.every((s) => this.nextId.get(s)! - this.o.firstId >= this.o.total);
  }

  get producedCount(): number {
    return this.produced;
  }

  /** Produce `n` trades of `symbol` now, in one group (a burst, e.g. to overrun a slow consumer). */
  burst(symbol: string, n: number): GeneratedTrade[] {
    return this.produce(symbol, n, Date.now());
  }

  start(tickMs = 10): void {
    if (this.timer) return;
    this.startedAt = Date.now();
    // Trades the schedule made per symbol; bursts are extra and do not hold the schedule back.
    const made = new Map(this.symbols.map((s) => [s, 0]));
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const s of this.symbols) {
        const due =
          this.o.ratePerSec > 0
            ? Math.floor(((now - this.startedAt) / 1000) * this.o.ratePerSec) - made.get(s)!
            : this.o.maxPerTick;
        const n = Math.min(due, this.o.maxPerTick, this.allowance?.(s) ?? Number.POSITIVE_INFINITY);
        if (n > 0) made.set(s, made.get(s)! + this.produce(s, n, now).length);
      }
      if (this.done) this.stop();
    }, tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private produce(symbol: string, n: number, now: number): GeneratedTrade[] {
    const h = this.history.get(symbol)!;
    const first = this.nextId.get(symbol)!;
    const end = Math.min(first + n, this.o.firstId + this.o.total);
    const out: GeneratedTrade[] = [];
    for (let id = first; id < end; id++) out.push(this.tradeAt(symbol, id, now));
    if (out.length === 0) return out;
    this.nextId.set(symbol, end);
    h.push(...out);
    if (h.length > this.o.retain) h.splice(0, h.length - this.o.retain);
    this.produced += out.length;
    for (const l of this.listeners) l(symbol, out);
    return out;
  }
}
