import { inspect } from 'node:util';
import { z } from 'zod';

const SECRET = Symbol.for('tributary.secret');

/** A value that refuses to be printed: JSON, util.inspect and string conversion all give '[redacted]'.
 * Call `reveal()` at the one place that needs the plain value (an auth header, a client option). */
export interface Secret {
  readonly [SECRET]: true;
  reveal(): string;
  toJSON(): string;
  toString(): string;
}

export function secret(value: string): Secret {
  return Object.freeze({
    [SECRET]: true as const,
    reveal: () => value,
    toJSON: () => '[redacted]',
    toString: () => '[redacted]',
    [inspect.custom]: () => '[redacted]',
  });
}

export function isSecret(v: unknown): v is Secret {
  return typeof v === 'object' && v !== null && SECRET in v;
}

/** Config field holding a secret: accepts a plain string (e.g. from `process.env`) or a Secret. */
export const secretSchema = z
  .union([z.string().min(1, 'must not be empty'), z.custom<Secret>(isSecret, 'expected a secret')])
  .transform((v) => (typeof v === 'string' ? secret(v) : v));
