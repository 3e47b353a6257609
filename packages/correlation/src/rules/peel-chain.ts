// Rule 6: Bitcoin peel chain. A 1-input/2-output transaction whose larger output carries >= 90% of the
// value, whose large output is spent by the next such transaction, repeated >= 3 times (per-hop gap <= 7 d,
// whole chain <= 30 d). Joins chain.transactions (inputs: prevTxid/prevVout in `extra.inputs`) with the
// utxo transfers (output values) in either arrival order.
import { custom, defineRule, type Finding, type Rule, type RuleState } from '../dsl.ts';
import type { CorrelationEvent, TransactionEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';

export interface PeelChainParams {
  /** Share of the value the larger output keeps (90:10 to 99:1 is typical). */
  minRatio: number;
  minHops: number;
  maxHopGap: Duration;
  maxChainSpan: Duration;
  /** Chains this rule looks at (prefix of the `chain` field). */
  chainPrefix: string;
  severity: number;
  mode: Rule['mode'];
}

export const PEEL_CHAIN_DEFAULTS: PeelChainParams = {
  minRatio: 0.9,
  minHops: 3,
  maxHopGap: '7d',
  maxChainSpan: '30d',
  chainPrefix: 'bitcoin',
  severity: 65,
  mode: 'active',
};

/** A transaction and its outputs arrive with the same block time: buffer one side briefly. */
const BUFFER_MS = 3_600_000;

interface TxState {
  /** The transaction event, stripped to what the rule needs. */
  tx?: CorrelationEvent;
  outs: Record<string, { amount: string; to: string | null }>;
}
interface Hop {
  root: string;
  hops: number;
  start: number;
  last: number;
  path: CorrelationEvent[];
}

function strip(e: TransactionEvent): TransactionEvent {
  const inputs = (e.record.extra?.inputs as { prevTxid?: string; prevVout?: number }[] | undefined) ?? [];
  const first = inputs[0];
  return {
    ...e,
    record: {
      ...e.record,
      extra: {
        inputs: first ? [{ prevTxid: first.prevTxid ?? null, prevVout: first.prevVout ?? null }] : [],
      },
    },
  };
}

export function peelChain(overrides: Partial<PeelChainParams> = {}): Rule {
  const p = { ...PEEL_CHAIN_DEFAULTS, ...overrides };
  const gap = ms(p.maxHopGap);
  const span = ms(p.maxChainSpan);

  function evaluateTx(txid: string, st: TxState, state: RuleState): Finding[] {
    const tx = st.tx as TransactionEvent | undefined;
    if (!tx || tx.record.inputCount !== 1 || tx.record.outputCount !== 2 || Object.keys(st.outs).length < 2)
      return [];
    const outs = Object.entries(st.outs).map(([i, o]) => ({
      index: Number(i),
      amount: BigInt(o.amount),
      to: o.to,
    }));
    const total = outs.reduce((a, o) => a + o.amount, 0n);
    if (total === 0n) return [];
    const [large, small] = outs.sort((a, b) =>
      b.amount > a.amount ? 1 : b.amount < a.amount ? -1 : a.index - b.index,
    );
    // ratio >= minRatio, in integers: large * 10000 >= minRatio * 10000 * total
    if (large!.amount * 10_000n < BigInt(Math.round(p.minRatio * 10_000)) * total) return [];
    const input = (
      tx.record.extra?.inputs as { prevTxid: string | null; prevVout: number | null }[] | undefined
    )?.[0];
    const prev =
      input?.prevTxid != null && input.prevVout != null
        ? state.get<Hop>(`hop:${input.prevTxid}:${input.prevVout}`)
        : undefined;
    const link = prev && tx.time - prev.last <= gap && tx.time - prev.start <= span;
    const hop: Hop = link
      ? {
          root: prev.root,
          hops: prev.hops + 1,
          start: prev.start,
          last: tx.time,
          path: [...prev.path, tx].slice(-20),
        }
      : { root: txid, hops: 1, start: tx.time, last: tx.time, path: [tx] };
    state.set(`hop:${txid}:${large!.index}`, hop, tx.time + gap);
    state.delete(`tx:${txid}`);
    if (hop.hops < p.minHops) return [];
    return [
      {
        key: `peel:${tx.record.chain}:${hop.root}`,
        events: hop.path,
        anchors: [hop.path[0]!],
        facts: {
          rootTxid: hop.root,
          hops: hop.hops,
          lastPeelAddress: small!.to,
          lastPeelValue: small!.amount.toString(),
          lastChangeValue: large!.amount.toString(),
        },
      },
    ];
  }

  return defineRule({
    id: 'peel-chain',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `>= ${p.minHops} chained 1-in/2-out transactions keeping >= ${p.minRatio * 100}% in the change output (hop gap <= ${p.maxHopGap}, span <= ${p.maxChainSpan})`,
    pattern: custom({
      kinds: ['transaction', 'transfer'],
      retention: p.maxChainSpan,
      evaluate(e, _ctx, state) {
        let txid: string;
        if (e.kind === 'transaction') {
          if (
            !e.record.chain.startsWith(p.chainPrefix) ||
            e.record.inputCount !== 1 ||
            e.record.outputCount !== 2
          )
            return [];
          txid = e.record.hash;
          const st = state.get<TxState>(`tx:${txid}`) ?? { outs: {} };
          st.tx = strip(e);
          state.set(`tx:${txid}`, st, e.time + BUFFER_MS);
          return evaluateTx(txid, st, state);
        }
        if (e.kind !== 'transfer' || e.record.kind !== 'utxo' || !e.record.chain.startsWith(p.chainPrefix))
          return [];
        txid = e.record.transactionHash;
        const st = state.get<TxState>(`tx:${txid}`) ?? { outs: {} };
        st.outs[String(e.record.index)] = { amount: e.record.amount, to: e.record.to };
        if (Object.keys(st.outs).length > 2 && !st.tx) {
          state.delete(`tx:${txid}`); // more than two outputs: not a peel
          return [];
        }
        state.set(`tx:${txid}`, st, e.time + BUFFER_MS);
        return evaluateTx(txid, st, state);
      },
    }),
    alert(f) {
      const hops = Number(f.facts?.hops ?? 0);
      return {
        summary: `peel chain of ${hops} hops from ${String(f.facts?.rootTxid)}; last peel ${String(f.facts?.lastPeelValue)} sats to ${String(f.facts?.lastPeelAddress)}`,
        score: Math.min(85, p.severity + (hops - p.minHops) * 5),
        labels: f.facts?.lastPeelAddress
          ? [
              {
                entity: String(f.facts.lastPeelAddress),
                entityType: 'address',
                label: 'subject',
                confidence: 0.5,
              },
            ]
          : [],
      };
    },
  });
}
