// `npm run docs:config`: writes docs/configuration.md, the configuration reference, from the schemas.
// `--check` writes nothing and exits 1 when the committed file differs from what the schemas give.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OUTPUT, renderConfigReference } from './config-reference/render.ts';

const root = join(import.meta.dirname, '..');
const file = join(root, OUTPUT);
const markdown = await renderConfigReference(root);

if (process.argv.includes('--check')) {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (current !== markdown) {
    console.error(`${OUTPUT} is out of date with the schemas: run \`npm run docs:config\``);
    process.exit(1);
  }
  console.log(`${OUTPUT} is up to date`);
} else {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, markdown);
  console.log(`wrote ${OUTPUT}`);
}
