// Zod primitives for venue payloads: trade ids (number or digit string, kept as text) and decimal text
// exactly as the venue sent it (no float round-trip).
import { z } from 'zod';

export const tradeIdSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((v) => String(v));

export const decimalTextSchema = z.string().regex(/^\d+(\.\d+)?$/);
