// Writes one JSON Schema file per record type: `npm run schemas:export -w @tributary/schemas [-- DIR]`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from './registry.ts';

const dir = process.argv[2] ?? 'dist/json-schema';
mkdirSync(dir, { recursive: true });
for (const [type, schema] of Object.entries(jsonSchemas())) {
  const file = join(dir, `${type}.schema.json`);
  writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
  console.log(file);
}
