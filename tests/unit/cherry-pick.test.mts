// The pure parts of lib/bots/cherry-pick/ beyond its messages: triggers, flag checks,
// rebase detection, the run's outputs (the messages: cherry-pick-messages.test.mts).
import { describe, expect, it } from 'vitest'
import { actionsOutputs, summaryRows } from '../../lib/bots/cherry-pick/report.mts'
import { branchesFromLabels, manualRequest, parseCommand, triggerFromEvent } from '../../lib/bots/cherry-pick/request.mts'
import { isRebaseOf } from '../../lib/bots/cherry-pick/source.mts'
import type { TargetResult } from '../../lib/bots/cherry-pick/types.mts'

const merged = (labels: string[], extra: object = {}) => ({
  action: 'closed',
  pull_request: { number: 7, merged: true, labels: labels.map((name) => ({ name })) },
  ...extra,
})
const comment = (body: string, association = 'MEMBER', pull_request: unknown = { url: 'x' }) => ({
  action: 'created',
  issue: { number: 7, pull_request },
  comment: { body, user: { login: 'ann' }, author_association: association },
})

describe('parseCommand', () => {
  it('finds /cherry-pick on a line of its own, with one or more branches', () => {
    expect(parseCommand('/cherry-pick release-1.0')).toEqual(['release-1.0'])
    expect(parseCommand('LGTM\n  /cherry-pick release-1.0   release-2.0\r\nthanks')).toEqual(['release-1.0', 'release-2.0'])
    expect(parseCommand('/cherry-pick a\n/cherry-pick b a')).toEqual(['a', 'b'])
    expect(parseCommand('/cherry-pick')).toEqual([])
  })

  it('ignores mentions that are not a command', () => {
    expect(parseCommand('please /cherry-pick release-1.0')).toBeNull()
    expect(parseCommand('/cherry-picking is fun')).toBeNull()
    expect(parseCommand('comment `/cherry-pick release-1.0` to pick')).toBeNull()
    expect(parseCommand('')).toBeNull()
  })
})

describe('branchesFromLabels', () => {
  it('takes the branch after the prefix, once each', () => {
    const labels = ['bug', 'cherry-pick/release-1.0', 'cherry-pick/', 'cherry-pick/release-1.0', 'cherry-pick/rel/x'].map((name) => ({ name }))
    expect(branchesFromLabels(labels, 'cherry-pick/')).toEqual(['release-1.0', 'rel/x'])
  })
})

describe('triggerFromEvent', () => {
  it('a merged PR picks onto its labelled branches', () => {
    expect(triggerFromEvent(merged(['bug', 'cherry-pick/release-1.0', 'cherry-pick/release-2.0']), 'cherry-pick/')).toEqual({
      kind: 'labels',
      pr: 7,
      targets: ['release-1.0', 'release-2.0'],
    })
  })

  it('a label added after the merge picks onto that branch only', () => {
    const event = merged(['cherry-pick/release-1.0', 'cherry-pick/release-2.0'], { action: 'labeled', label: { name: 'cherry-pick/release-2.0' } })
    expect(triggerFromEvent(event, 'cherry-pick/')).toEqual({ kind: 'labels', pr: 7, targets: ['release-2.0'] })
    expect(triggerFromEvent({ ...event, label: { name: 'bug' } }, 'cherry-pick/')).toMatchObject({ kind: 'none', reason: expect.stringContaining('label added') })
  })

  it('does nothing for an unmerged PR, a merged PR without labels, or other actions', () => {
    expect(triggerFromEvent({ action: 'closed', pull_request: { number: 7, merged: false, labels: [{ name: 'cherry-pick/r' }] } }, 'cherry-pick/')).toMatchObject({
      kind: 'none',
      reason: '#7 is not merged (labels are picked up when it is)',
    })
    expect(triggerFromEvent(merged(['bug']), 'cherry-pick/')).toMatchObject({ kind: 'none' })
    expect(triggerFromEvent(merged(['cherry-pick/r'], { action: 'synchronize' }), 'cherry-pick/')).toMatchObject({ kind: 'none' })
    expect(triggerFromEvent({}, 'cherry-pick/')).toMatchObject({ kind: 'none', reason: 'not a pull_request or issue_comment event' })
  })

  it('a comment carries the branches and its author, whose access is asked from GitHub later (author_association is ignored)', () => {
    const expected = { kind: 'comment', pr: 7, targets: ['release-1.0'], user: 'ann' }
    expect(triggerFromEvent(comment('/cherry-pick release-1.0'), 'cherry-pick/')).toEqual(expected)
    expect(triggerFromEvent(comment('/cherry-pick release-1.0', 'OWNER'), 'cherry-pick/')).toEqual(expected)
    const deleted = { ...comment('/cherry-pick release-1.0'), comment: { body: '/cherry-pick release-1.0', user: null } }
    expect(triggerFromEvent(deleted, 'cherry-pick/')).toMatchObject({ kind: 'none' })
  })

  it('ignores comments without the command, edited comments and comments on issues', () => {
    expect(triggerFromEvent(comment('nice work'), 'cherry-pick/')).toMatchObject({ kind: 'none' })
    expect(triggerFromEvent({ ...comment('/cherry-pick r'), action: 'edited' }, 'cherry-pick/')).toMatchObject({ kind: 'none' })
    expect(triggerFromEvent(comment('/cherry-pick r', 'OWNER', null), 'cherry-pick/')).toMatchObject({ kind: 'none', reason: '#7 is an issue, not a pull request' })
  })
})

describe('rebase detection', () => {
  const landed = (message: string, email = 'a@x', parents = 1) => ({ sha: message, message: `${message}\n`, email, parents })
  it('matches the PR commits replayed in order, by message and author', () => {
    const pr = [
      { message: 'one', email: 'a@x' },
      { message: 'two', email: 'a@x' },
    ]
    expect(isRebaseOf([landed('one'), landed('two')], pr)).toBe(true)
    expect(isRebaseOf([landed('two'), landed('one')], pr)).toBe(false)
    expect(isRebaseOf([landed('one'), landed('two', 'b@x')], pr)).toBe(false)
    expect(isRebaseOf([landed('one'), landed('two', 'a@x', 2)], pr)).toBe(false)
    expect(isRebaseOf([landed('two')], pr)).toBe(false)
  })
})

describe('manualRequest', () => {
  it('reads --pr/--commit and --to', () => {
    expect(manualRequest({ to: [] })).toBeUndefined()
    expect(manualRequest({ pr: '12', to: ['a', 'b', 'a'] })).toEqual({ prs: [12], commits: [], targets: ['a', 'b'] })
    expect(manualRequest({ commit: 'abc', to: ['a'] })).toEqual({ prs: [], commits: ['abc'], targets: ['a'] })
  })

  it.each([
    [{ pr: '1', to: [] }, /--to BRANCH is required/],
    [{ to: ['a'] }, /--to needs --pr N or --commit SHA/],
    [{ pr: '1', commit: 'x', to: ['a'] }, /not both/],
    [{ pr: '0', to: ['a'] }, /expected a pull request number/],
    [{ pr: '#3', to: ['a'] }, /expected a pull request number/],
  ])('%j is a usage error', (flags, message) => {
    expect(() => manualRequest(flags)).toThrow(message)
  })
})

describe('outputs', () => {
  const results: TargetResult[] = [
    { branch: 'r1', status: 'created', pull: { number: 3, url: 'u3', draft: false } },
    { branch: 'r2', status: 'conflict', conflicts: ['a.txt'] },
    { branch: 'r3', status: 'conflict', pull: { number: 4, url: 'u4', draft: true }, conflicts: ['b.txt'] },
    { branch: 'r4', status: 'exists', pull: { number: 1, url: 'u1', draft: false } },
    { branch: 'r5', status: 'refused', message: 'no branch r5 on origin' },
    { branch: 'r6', status: 'up-to-date' },
  ]

  it('created_pull_numbers lists PRs this run opened; failed_branches the failed targets', () => {
    expect(actionsOutputs(results)).toEqual({ created_pull_numbers: '[3,4]', failed_branches: '["r2","r3","r5"]' })
  })

  it('the summary has one row per target', () => {
    const rows = summaryRows(results)
    expect(rows[0]).toEqual(['target', 'result', 'details'])
    expect(rows.slice(1).map((r) => r.slice(0, 2))).toEqual(results.map((r) => [r.branch, r.status]))
    expect(rows[3][2]).toBe('#4 (draft) u4; conflicts: b.txt')
  })
})
