// init's CircleCI jobs added to a config a project already has: the project's text kept
// byte for byte (only init's lines inserted), the result accepted by CircleCI's parser
// and by this repository's CircleCI rules, and the cases it must not touch left alone
// with the lines to add by hand.
import { createRequire } from 'node:module'
import { YAML } from 'zx'
import { describe, expect, it } from 'vitest'
import { mergeCircleConfig, manualLines, type CirclePieces } from '../../lib/init/circleci-merge.mts'
import { circlePieces } from '../../lib/init/ci-configs.mts'
import type { Project } from '../../lib/init/project.mts'
import { circlePublishProblems, type CircleDoc } from '../helpers/ci-checks.mts'

const { parseConfig } = createRequire(import.meta.url)('@circleci/circleci-config-parser') as typeof import('@circleci/circleci-config-parser')

const GO: Project = { kind: 'go', module: 'github.com/acme/tool', hasGoSum: true, vendored: false, makeTargets: { test: true, build: true } }
const pieces = (registry?: string): CirclePieces => circlePieces(GO, { name: 'tool', registry, defaultBranch: 'main' })

// Shaped like a Go project's own config: anchors and a merge key, 4-space indentation,
// comments everywhere, block scalars, an orb, a blank line before the workflows.
const REAL = `# CircleCI for tool: lint, test, release.
version: 2.1

orbs:
    go: circleci/go@1.11.0 # the Go orb

defaults: &defaults
    docker:
        - image: cimg/go:1.22   # the toolchain
    working_directory: ~/tool

jobs:
    lint:
        <<: *defaults
        steps:
            - checkout
            - run:
                name: golangci-lint
                command: |
                    make lint
                    git diff --exit-code   # generated code is committed

    test:
        <<: *defaults
        steps: [checkout, {run: make test}]
    # release only from tags
    release:
        <<: *defaults
        steps:
            - checkout
            - run: make release # goreleaser

workflows:
    main:
        jobs:
            - lint
            - test:
                requires: [lint]
            - release:
                requires: [test]
                filters: { branches: { ignore: /.*/ }, tags: { only: /^v.*/ } }
# end of config
`

/** The text with `inserted` removed: what the project had, if only lines were inserted. */
function withoutInserted(merged: string, inserted: string[]): string {
  let rest = merged
  for (const block of inserted) rest = rest.replace(block, '')
  return rest
}

describe('mergeCircleConfig', () => {
  it.each([
    ['local-only', undefined],
    ['with a registry', 'ghcr.io/acme'],
  ])('adds the jobs and the workflow to a real-shaped config, keeping every byte of it (%s)', (_, registry) => {
    const p = pieces(registry)
    const result = mergeCircleConfig(REAL, p)
    if (result.kind !== 'merged') throw new Error(JSON.stringify(result))
    expect(result.added).toEqual([...(registry ? ['jobs.test-and-build', 'jobs.push-images'] : ['jobs.test-and-build']), 'workflows.ci-build-scripts'])

    // Inserted as blocks, at the indentation of the project's own entries (4 spaces here).
    const indent = (block: string[]) => block.map((l) => (l === '' ? '' : '  ' + l)).join('\n') + '\n'
    expect(result.content).toContain('\n\n' + indent(p.jobs) + '\nworkflows:')
    expect(result.content).toContain('                filters: { branches: { ignore: /.*/ }, tags: { only: /^v.*/ } }\n\n' + indent(p.workflows) + '# end of config\n')
    // Take the inserted lines (and the blank line before each) out: the project's file, exactly.
    expect(withoutInserted(result.content, ['\n' + indent(p.jobs), '\n' + indent(p.workflows)])).toBe(REAL)

    // CircleCI's parser takes it: the project's jobs and workflow and init's. (The parser
    // knows no merge keys, which CircleCI itself resolves: they are resolved for it.)
    const config = parseConfig(YAML.stringify(YAML.parseDocument(result.content, { merge: true }).toJS()))
    expect(config.jobs.map((j) => j.name).sort()).toEqual(['lint', 'release', 'test', ...(registry ? ['push-images'] : []), 'test-and-build'].sort())
    expect(config.workflows.map((w) => w.name).sort()).toEqual(['ci-build-scripts', 'main'])
    expect(circlePublishProblems(YAML.parse(result.content) as CircleDoc, 'main')).toEqual([])

    // Merging again finds them there.
    expect(mergeCircleConfig(result.content, p)).toEqual({ kind: 'present' })
  })

  it('a config whose jobs all come from orbs gets a jobs section; one without a final newline still merges', () => {
    const orbsOnly = 'version: 2.1\norbs:\n  node: circleci/node@5.2.0\nworkflows:\n  test:\n    jobs:\n      - node/test'
    const result = mergeCircleConfig(orbsOnly, pieces())
    if (result.kind !== 'merged') throw new Error(JSON.stringify(result))
    expect(result.content.startsWith(orbsOnly + '\n\n')).toBe(true)
    expect(YAML.parse(result.content).jobs['test-and-build'].machine).toEqual({ image: 'ubuntu-2204:current' })
    expect(YAML.parse(result.content).workflows.test).toEqual({ jobs: ['node/test'] })
  })

  it.each<[string, string, RegExp]>([
    ['no workflows (CircleCI runs its build job on its own)', 'version: 2\njobs:\n  build:\n    docker: [{image: cimg/base:current}]\n    steps: [checkout]\n', /no workflows/],
    ['a dynamic config', 'version: 2.1\nsetup: true\nworkflows:\n  setup:\n    jobs: [generate]\n', /dynamic \(setup\) config/],
    ['a job of its own named test-and-build', 'version: 2.1\njobs:\n  test-and-build:\n    docker: [{image: x}]\n    steps: [checkout]\nworkflows:\n  main:\n    jobs: [test-and-build]\n', /jobs named test-and-build already/],
    ['flow-style jobs', 'version: 2.1\njobs: {build: {docker: [{image: x}], steps: [checkout]}}\nworkflows:\n  main:\n    jobs: [build]\n', /jobs is not a block mapping/],
    ['YAML that does not parse', 'version: 2.1\njobs:\n  build: [\n', /does not parse/],
    // A keep-chomping block scalar at the end of jobs: the blank line before init's block
    // would become part of its value. The check after inserting catches it.
    ['a last value that would change', 'version: 2.1\njobs:\n  build:\n    steps:\n      - run: |+\n          make\nworkflows:\n  main:\n    jobs: [build]\n', /would not have left the rest of it as it is/],
  ])('leaves %s as it was, with the lines to add', (_, text, reason) => {
    const result = mergeCircleConfig(text, pieces('ghcr.io/acme'))
    expect(result).toMatchObject({ kind: 'manual', reason: expect.stringMatching(reason) })
    // The lines given parse to init's jobs and workflow.
    const lines = YAML.parse((result as { lines: string }).lines)
    expect(Object.keys(lines.jobs)).toEqual(['test-and-build', 'push-images'])
    expect(Object.keys(lines.workflows)).toEqual(['ci-build-scripts'])
    expect((result as { lines: string }).lines).toBe(manualLines(pieces('ghcr.io/acme')))
  })
})
