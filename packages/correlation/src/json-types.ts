// Type re-exports used across the package.
export type { JsonValue, JsonObject } from '@tributary/sdk';
export type { Alert } from '@tributary/schemas';
