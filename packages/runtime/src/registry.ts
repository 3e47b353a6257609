// Source types known to the runtime. A source is a package exporting `source: SourceDefinition`; the
// runtime imports it by name, so source packages never depend on the runtime.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { SourceDefinition } from '@tributary/sdk';
import { ConfigError, zodIssues, type ConnectorConfig, type TributaryConfig } from './config.ts';

export const BUILTIN_SOURCES: Record<string, string> = {
  synthetic: '@tributary/source-synthetic',
  ethereum: '@tributary/source-ethereum',
  bitcoin: '@tributary/source-bitcoin',
  binance: '@tributary/source-binance',
  coinbase: '@tributary/source-coinbase',
  salesforce: '@tributary/source-salesforce',
  hubspot: '@tributary/source-hubspot',
};

// The contract is generic; at this boundary the runtime only moves configs through, so it holds sources
// with their type parameters erased to `unknown`.
export type AnySource = SourceDefinition<unknown, unknown>;

export interface ResolvedConnector {
  connector: ConnectorConfig;
  source: AnySource;
  /** The source config after its schema's defaults and transforms. */
  config: unknown;
}

async function importSource(specifier: string, from: string): Promise<AnySource> {
  // Resolve from the config file's folder first (the operator's project), then from the runtime.
  let url: string;
  try {
    url = pathToFileURL(createRequire(from).resolve(specifier)).href;
  } catch {
    url = specifier;
  }
  const mod = (await import(url)) as { source?: AnySource; default?: AnySource };
  const source = mod.source ?? mod.default;
  if (!source || typeof source.run !== 'function') throw new Error(`${specifier} does not export a source`);
  return source;
}

export async function resolveConnectors(
  cfg: TributaryConfig,
  configPath: string,
  only?: string[],
): Promise<ResolvedConnector[]> {
  const known = { ...BUILTIN_SOURCES, ...cfg.worker.plugins };
  const issues: string[] = [];
  const out: ResolvedConnector[] = [];
  if (only) {
    const names = new Set(cfg.connectors.map((c) => c.name));
    for (const n of only)
      if (!names.has(n))
        issues.push(`--only ${n}: no such connector (have: ${[...names].join(', ') || 'none'})`);
  }
  for (const [i, connector] of cfg.connectors.entries()) {
    if (only && !only.includes(connector.name)) continue;
    const where = `connectors[${i}] "${connector.name}"`;
    const specifier = known[connector.type];
    if (!specifier) {
      issues.push(
        `${where}: type: unknown connector type "${connector.type}" (known types: ${Object.keys(known).sort().join(', ')})`,
      );
      continue;
    }
    let source: AnySource;
    try {
      source = await importSource(specifier, configPath);
    } catch (err) {
      issues.push(
        `${where}: type: cannot load "${connector.type}" from ${specifier}: ${(err as Error).message}`,
      );
      continue;
    }
    const parsed = source.configSchema.safeParse(connector.config);
    if (!parsed.success) {
      issues.push(...zodIssues(cfg, parsed.error, ['connectors', i, 'config']));
      continue;
    }
    out.push({ connector, source, config: parsed.data });
  }
  if (issues.length) throw new ConfigError(`invalid configuration:\n  ${issues.join('\n  ')}`, issues);
  return out;
}
