import { defineConfig } from 'vitest/config'

// The test run Stryker repeats for every mutant (stryker.config.mjs): the unit tests of
// the modules it mutates, in-process and fast. No global set-up (there is no Docker
// here, and its clean-up removes images), no integration or e2e tier.
export default defineConfig({
  test: {
    // The unit tests of the modules stryker.config.mjs mutates: add a module's tests with it.
    include: [
      'tests/unit/tag-policy.test.mts',
      'tests/unit/shard.test.mts',
      'tests/unit/publish.test.mts',
      'tests/unit/gantt.test.mts',
      'tests/unit/dockerfile.test.mts',
      'tests/unit/registry-parsing.test.mts',
      'tests/unit/registry.test.mts',
      'tests/unit/prune-plan.test.mts',
      'tests/unit/prune.test.mts',
      'tests/unit/content-tag-manifest.test.mts',
      'tests/unit/ls-remote.test.mts',
      'tests/unit/cherry-pick-messages.test.mts',
      'tests/unit/cherry-pick-prerequisites.test.mts',
      'tests/unit/ecr.test.mts',
      'tests/unit/render-template.test.mts',
      'tests/unit/image-content.test.mts',
      // For the narrowed run of lib/core/config-checks.mts, which is not on the list
      // (CONTRIBUTING.md, Mutation testing).
      'tests/unit/config.test.mts',
      'tests/unit/config-schema.test.mts',
      'tests/unit/config-types.test.mts',
    ],
    // Stryker runs the tests in a copy of the repository that is not a git checkout: the
    // one test that lists this checkout's own files (tests/unit/shard.test.mts) runs in
    // the ordinary suite only.
    testNamePattern: /^(?!.*this repository's vitest files)/,
    // Stryker reruns a few tests per mutant hundreds of times: keep the modules loaded
    // between runs (most mutants switch on at run time, not by reloading code). The cost:
    // a mutant in a module-level constant (a regex held in a const) is never loaded, and
    // is reported as surviving; CONTRIBUTING.md says how to tell.
    isolate: false,
    // The suite's known secrets (vitest.config.mts): some unit tests read them.
    env: {
      REGISTRY_PASSWORD: 'suite-registry-secret-6c1f',
      GITHUB_TOKEN: 'ghs_suiteToken6c1f',
    },
  },
})
