import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@tributary/testkit/vitest-kafka'],
    include: ['test/**/*.test.ts'],
    // Tests share one broker and two cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
