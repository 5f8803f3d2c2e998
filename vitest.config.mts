import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.mts'],
    // Removes the images the run built when it ends (tests/global-setup.mts).
    globalSetup: ['tests/global-setup.mts'],
    // Integration tests drive a real Docker Engine and registry: give them room.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Most of a test's time is spent waiting on Docker, git or a child script, not on a
    // core: three files at a time keep both cores busy on a 2-core CI machine.
    maxWorkers: 3,
    reporters: ['default'],
    // Known secrets for the whole suite: runScript (tests/helpers/run.mts) fails any run
    // that prints them or passes them in a child's argv. A REGISTRY_PASSWORD without
    // REGISTRY_USERNAME means no credentials, so tests that set neither behave as before.
    env: {
      REGISTRY_PASSWORD: 'suite-registry-secret-6c1f',
      GITHUB_TOKEN: 'ghs_suiteToken6c1f',
    },
  },
})
