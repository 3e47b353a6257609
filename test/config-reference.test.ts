// docs/configuration.md is generated from the schemas (`npm run docs:config`); this keeps the committed
// file equal to what the schemas give today, and checks the generator reads what it claims to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SOURCES } from '@tributary/runtime';
import { OUTPUT, renderConfigReference } from '../scripts/config-reference/render.ts';

const root = join(import.meta.dirname, '..');

describe('configuration reference', () => {
  it('docs/configuration.md is what `npm run docs:config` generates from the schemas', async () => {
    const generated = await renderConfigReference(root);
    const committed = readFileSync(join(root, OUTPUT), 'utf8');
    expect(committed, 'run `npm run docs:config` and commit docs/configuration.md').toBe(generated);

    // Every source type the runtime knows has its section.
    for (const type of Object.keys(BUILTIN_SOURCES))
      expect(generated).toContain(`## Source \`type: '${type}'\``);
    const row = (path: string) => generated.split('\n').find((l) => l.startsWith(`| \`${path}\` `)) ?? '';
    // Type and default from the zod schema, description from the field's doc comment.
    expect(row('kafka.transactionalIdPrefix')).toMatch(
      /\| `string` +\| `'tributary'` +\| Prefix of every transactional id/,
    );
    expect(row('kafka.brokers')).toContain('_required_');
    expect(row('worker.group.sessionTimeoutMs')).toMatch(/`integer ≥ 1000` +\| `10000` /);
    // Secrets are recognised by what they parse to, refined (Ethereum's URL) or optional.
    expect(row('kafka.sasl.password')).toContain('`secret`');
    expect(row('url')).toContain('`secret`');
    // A comment naming a package (`@hubspot/...`) is kept whole, not cut at what looks like a JSDoc tag.
    expect(row('baseUrl')).toContain('`basePath` of @hubspot/api-client; a simulator');
  });
});
