import { defineConfig } from 'vitest/config';

// Source runs under vitest as the all-clouds variant; the defines stand in for build/bundle.ts's.
export default defineConfig({
  define: {
    CLOUD_AWS: 'true',
    CLOUD_GCP: 'true',
    CLOUD_AZURE: 'true',
    SKYDUCK_NATIVE: 'null',
    SKYDUCK_BUILD: JSON.stringify({
      name: 'skyduck', version: '0.0.0-test', variant: 'all-clouds', binary: 'skyduck', target: `${process.platform}-${process.arch}`,
      duckdb: 'test', commit: 'test', carriers: { local: ['skyduck'], aws: ['skyduck'], gcp: ['skyduck'], azure: ['skyduck'] },
    }),
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Every case by name, so a run shows the conformance cases per backend.
    reporters: ['verbose'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
