// What `@tributary/testkit/vitest-kafka` provides to tests: `inject('kafkaBrokers')`.
import type {} from 'vitest';
declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}
export {};
