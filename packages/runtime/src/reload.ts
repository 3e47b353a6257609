// Config reload (POST /reload, SIGHUP): read connectors.config.ts again, validate it completely, and only
// then swap the connector set. An invalid file changes nothing.
import type { Logger } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import { buildConnectorSet, diffConnectorSets, type ConnectorSet } from './connector-set.ts';
import type { Engine } from './engine.ts';
import type { ReloadResult } from './operator.ts';
import type { ResolvedConnector } from './registry.ts';

/** Loads and validates the config file again (throws ConfigError naming connector and field). */
export type LoadConfig = () => Promise<{ config: TributaryConfig; connectors: ResolvedConnector[] }>;

const RESTART_SECTIONS = ['kafka', 'topics', 'worker'] as const;

export interface Reloaded {
  set: ConnectorSet;
  result: ReloadResult;
}

/** Validates the new config and computes what changes, without applying anything. */
export async function prepareReload(
  current: TributaryConfig,
  engine: Engine,
  load: LoadConfig,
): Promise<Reloaded> {
  const next = await load();
  const set = buildConnectorSet(next.connectors);
  const diff = diffConnectorSets(engine.connectors(), set);
  const ignored = RESTART_SECTIONS.filter(
    (s) => JSON.stringify(current[s]) !== JSON.stringify(next.config[s]),
  ).map(String);
  return { set, result: { ...diff, ignored } };
}

export function logReload(logger: Logger, r: ReloadResult): void {
  logger.info(
    { added: r.added, removed: r.removed, changed: r.changed, unchanged: r.unchanged.length },
    'config reloaded',
  );
  if (r.ignored.length)
    logger.warn(
      { sections: r.ignored },
      `config reload: changes to ${r.ignored.join(', ')} need a worker restart; they are ignored until then`,
    );
}
