import { defineConfig } from 'vitest/config'

// `npm run test:soak`: the reliability tests of test/soak/ in their long form (20 kill -9 cycles, 1,000 connections
// x 10 channels, 10,000 queues, tens of thousands of fuzz cases). `npm test` runs the same files in a short form;
// the switch is WARREN_SOAK (test/soak/config.ts). One file at a time: they measure memory and kill processes.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.test.ts'],
    env: { WARREN_SOAK: '1' },
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
