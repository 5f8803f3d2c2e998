// The pure parts of prerequisites and several --pr: names, commands, messages, parsing.
import { describe, expect, it } from 'vitest'
import { conflictComment, headBranchName, manualCommands, prerequisitesCommand } from '../../lib/bots/cherry-pick/messages.mts'
import { parsePatchIds, pickedFromTrailers } from '../../lib/bots/cherry-pick/prerequisites.mts'
import { manualRequest, parseCommand } from '../../lib/bots/cherry-pick/request.mts'
import { combineSources, picksOf } from '../../lib/bots/cherry-pick/source.mts'
import type { Prerequisite, Source } from '../../lib/bots/cherry-pick/types.mts'

const sha = (c: string) => c.repeat(40)
const pull = (number: number, base = 'main') => ({ number, title: `PR ${number}`, url: `https://github.com/acme/app/pull/${number}`, author: 'alice', labels: [], base })
const squash = (n: number, c: string): Source => ({ pull: pull(n), title: `PR ${n}`, kind: 'squash', commits: [sha(c)], mainline: false })
const merge = (n: number, c: string): Source => ({ pull: pull(n), title: `PR ${n}`, kind: 'merge', commits: [sha(c)], mainline: true })
const commit = (c: string): Source => ({ title: `commit ${c}`, kind: 'commit', commits: [sha(c)], mainline: false })
const prereq = (c: string, number?: number): Prerequisite => ({
  sha: sha(c),
  subject: `subject ${c}`,
  mainline: false,
  files: ['app.txt'],
  pull: number ? { number, title: `PR ${number}`, url: `u${number}` } : undefined,
})

describe('several --pr', () => {
  it('manualRequest keeps the order given, once each', () => {
    expect(manualRequest({ pr: ['5', '3', '5', '9'], to: ['r'] })).toEqual({ prs: [5, 3, 9], commits: [], targets: ['r'] })
    expect(manualRequest({ commit: ['b', 'a'], to: ['r'] })).toEqual({ prs: [], commits: ['b', 'a'], targets: ['r'] })
    expect(() => manualRequest({ pr: ['5', 'x'], to: ['r'] })).toThrow('--pr: expected a pull request number, got "x"')
    expect(() => manualRequest({ pr: ['5'], commit: ['a'], to: ['r'] })).toThrow('not both')
  })

  it('one branch named by the first and last, picks in order with -m 1 only for merge commits', () => {
    const source = combineSources([squash(3, 'a'), merge(5, 'b'), squash(9, 'c')])
    expect(headBranchName(source, 'release-1.0')).toBe('cherry-pick/3-9-to-release-1.0')
    expect(headBranchName(combineSources([commit('a'), commit('b')]), 'r')).toBe(`cherry-pick/${sha('a').slice(0, 12)}-${sha('b').slice(0, 12)}-to-r`)
    expect(headBranchName(combineSources([squash(3, 'a')]), 'r')).toBe('cherry-pick/3-to-r')
    expect(source.title).toBe('PR 3 (+ #5, #9)')
    expect(picksOf(source)).toEqual([
      { sha: sha('a'), mainline: false },
      { sha: sha('b'), mainline: true },
      { sha: sha('c'), mainline: false },
    ])
    const commands = manualCommands('origin', source, 'release-1.0', 'cherry-pick/3-9-to-release-1.0')
    expect(commands).toContain(`git cherry-pick -x ${sha('a')}\ngit cherry-pick -x -m 1 ${sha('b')}\ngit cherry-pick -x ${sha('c')}\n`)
    expect(commands).toContain('git fetch origin release-1.0 main\n')
  })
})

describe('prerequisites', () => {
  it('the command: --pr for each pull request in order (once each), else --commit for each commit', () => {
    expect(prerequisitesCommand([prereq('a', 1), prereq('b', 2), prereq('c', 2)], squash(5, 'd'), 'release-1.0')).toBe(
      'npx zx scripts/cherry-pick.mts --pr 1 --pr 2 --pr 5 --to release-1.0',
    )
    expect(prerequisitesCommand([prereq('a', 1), prereq('b')], squash(5, 'd'), 'release-1.0')).toBe(
      `npx zx scripts/cherry-pick.mts --commit ${sha('a')} --commit ${sha('b')} --commit ${sha('d')} --to release-1.0`,
    )
    // The target is quoted for a shell.
    expect(prerequisitesCommand([prereq('a', 1)], squash(5, 'd'), "rel-$(x)'")).toMatch(/--to \$'rel-\$\(x\)\\''$/)
  })

  it('the conflict comment lists them with titles as code and the command; with none, says the conflict is the target\'s own', () => {
    const title = '`x` @team $(y)'
    const p: Prerequisite = { ...prereq('a', 1), pull: { number: 1, title, url: 'u' } }
    const body = conflictComment('origin', squash(5, 'd'), 'release-1.0', 'cherry-pick/5-to-release-1.0', ['app.txt'], {
      prerequisites: [p],
      prerequisitesCommand: 'npx zx scripts/cherry-pick.mts --pr 1 --pr 5 --to release-1.0',
      attempts: [{ prerequisites: [], conflicts: ['app.txt'], at: sha('d') }],
    })
    expect(body).toContain(`- ${sha('a').slice(0, 12)} #1 \`\` ${title} \`\`: changes \`app.txt\``)
    expect(body).toContain('```sh\nnpx zx scripts/cherry-pick.mts --pr 1 --pr 5 --to release-1.0\n```')
    expect(parseCommand(body)).toBeNull()
    const none = conflictComment('origin', squash(5, 'd'), 'r', 'h', ['app.txt'], { attempts: [{ prerequisites: [], conflicts: ['app.txt'], at: sha('d') }] })
    expect(none).toContain("the conflict is with `r`'s own changes")
  })

  it('reads -x trailers (only whole trailer lines) and patch-id output', () => {
    const trailers = `Signed-off-by: a <b>\n(cherry picked from commit ${sha('a')})\n\n(cherry picked from commit 1234567)\n\n`
    expect(pickedFromTrailers(trailers)).toEqual([sha('a'), '1234567'])
    expect(pickedFromTrailers('see (cherry picked from commit abcdef1) in prose')).toEqual([])
    expect(parsePatchIds(`${sha('1')} ${sha('a')}\n${sha('2')} ${sha('b')}\n`)).toEqual(
      new Map([
        [sha('a'), sha('1')],
        [sha('b'), sha('2')],
      ]),
    )
  })
})
