// @ts-check
// Mutation testing (`npm run test:mutation`): Stryker changes the pure lib code one small
// edit at a time (a `<` for a `<=`, a regex anchor dropped, a string emptied) and runs the
// fast unit tests against each; a change no test notices "survives" and names a gap.
//
// What is mutated: whole modules whose every function is pure, and in modules that also
// talk to git, Docker or a registry, the pure functions named below. Those are found by
// name in the file, so edits elsewhere in it do not shift them; a name that is gone fails
// the run here instead of quietly mutating nothing.
import fs from 'node:fs'

/** Whole modules: every function pure. */
const WHOLE = ['lib/publish/release-tags.mts', 'lib/runner/shard.mts', 'lib/runner/gantt.mts', 'lib/image/dockerfile.mts', 'lib/image/image-ref.mts', 'lib/core/ls-remote.mts', 'lib/bots/cherry-pick/messages.mts', 'lib/publish/immutable-tags.mts', 'lib/image/image-content.mts']

/** Modules with I/O besides: the pure functions (and the values only they use), by name. */
const PURE = {
  'lib/publish/publish-plan.mts': ['decideAction', 'isBuildOf', 'mayReuse', 'publishJson', 'finalImage', 'short', 'describePlan', 'refusalMessage', 'publishedSummary', 'publishFailure', 'imagesToSign', 'localOnlyImages', 'describeLocalOnly'],
  'lib/publish/prune.mts': ['day', 'planPrune', 'accessoryKind', 'describePrunePlan'],
  'lib/image/content-tag.mts': ['selectInputs', 'manifestText', 'buildImageRepository', 'treeBlobs'],
  'lib/image/registry.mts': ['parseWwwAuthenticate', 'checkedDigest', 'readUnlessRefused'],
  'lib/image/registry-credentials.mts': ['registryHost', 'envCredentials'],
  'lib/init/render-template.mts': ['yamlScalar', 'slotsOf', 'renderTemplate'],
  'lib/image/ecr.mts': ['ecrHost', 'ecrSettings', 'tagMatches', 'tagMayMove', 'explainImmutablePush', 'isImmutableRefusal', 'skippedMoveWarning', 'refusedMoveMessage'],
}

/**
 * `file:start-end` for each named top-level declaration: from its first line to the last
 * line before the next one that starts at the left margin (other than a closing bracket).
 */
function ranges(file, names) {
  const lines = fs.readFileSync(new URL(file, import.meta.url), 'utf8').split('\n')
  return names.map((name) => {
    const start = lines.findIndex((l) => new RegExp(`^(export )?(async )?(function|const|class) ${name}\\b`).test(l))
    if (start < 0) throw new Error(`stryker.config.mjs: ${name} is not declared at the top level of ${file}`)
    let next = lines.findIndex((l, i) => i > start && /^[^\s})\]]/.test(l))
    if (next < 0) next = lines.length
    let end = next - 1
    while (lines[end].trim() === '') end--
    return `${file}:${start + 1}-${end + 1}`
  })
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'tests/mutation/vitest.config.mts' },
  mutate: [...WHOLE, ...Object.entries(PURE).flatMap(([file, names]) => ranges(file, names))],
  // Each mutant runs only the tests that reach its code.
  coverageAnalysis: 'perTest',
  // Results are reused by the next run for the code and tests that did not change.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // Two cores, shared with others: at most two test processes.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: 'reports/mutation/.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 95, low: 90, break: 90 },
}
