// lib/bots/approval.mts's verdict: reviews plus each reviewer's permission now (as
// permissionOf returns it), never author_association.
import { describe, expect, it } from 'vitest'
import { approvalOf, type ReviewData } from '../../lib/bots/approval.mts'
import type { UserPermission } from '../../lib/bots/github.mts'

const HEAD = 'b'.repeat(40)
const OLD = 'a'.repeat(40)
const review = (login: string, state: string, commit: string | null = HEAD): ReviewData => ({ user: { login }, state, commit_id: commit })

const LEGACY: Record<string, string> = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read', none: 'none' }
/** login -> role, as GitHub's permission API would answer. */
function roles(entries: Record<string, string>): Map<string, UserPermission> {
  return new Map(
    Object.entries(entries).map(([login, role]) => {
      const permission = LEGACY[role]
      return [login, { login, role, permission, trusted: permission === 'admin' || permission === 'write' }]
    }),
  )
}
const WRITERS = roles({ maya: 'write', lee: 'maintain', ada: 'admin' })

describe('approvalOf', () => {
  it.each(['write', 'maintain', 'admin'])('an approval of exactly the head by someone with %s access approves it', (role) => {
    expect(approvalOf([review('maya', 'APPROVED')], HEAD, roles({ maya: role }))).toMatchObject({ approved: true, reviewer: 'maya' })
  })

  it.each(['read', 'triage', 'none'])('an approval by someone with %s access does not (a read-only member, a triage collaborator, a reviewer who lost access)', (role) => {
    const result = approvalOf([review('pat', 'APPROVED')], HEAD, roles({ pat: role }))
    expect(result.approved).toBe(false)
    expect(result.reason).toBe(`approved only by pat (${role}): an approval counts from people with write, maintain or admin access only`)
  })

  it('a reviewer whose permission is unknown is not trusted', () => {
    expect(approvalOf([review('pat', 'APPROVED')], HEAD, new Map()).approved).toBe(false)
  })

  it('only approvals count: comments do not', () => {
    expect(approvalOf([review('maya', 'COMMENTED')], HEAD, WRITERS).approved).toBe(false)
    expect(approvalOf([], HEAD, WRITERS)).toEqual({ approved: false, reason: 'no approving review from someone with write, maintain or admin access' })
  })

  it('an approval of an earlier commit does not approve the head: a push needs a new approval', () => {
    const result = approvalOf([review('maya', 'APPROVED', OLD)], HEAD, WRITERS)
    expect(result.approved).toBe(false)
    expect(result.reason).toBe(`maya approved ${OLD.slice(0, 12)}, not ${HEAD.slice(0, 12)}: a push after an approval needs a new approval`)
    expect(approvalOf([review('maya', 'APPROVED', OLD), review('maya', 'APPROVED', HEAD)], HEAD, WRITERS).approved).toBe(true)
    expect(approvalOf([review('maya', 'APPROVED', null)], HEAD, WRITERS).approved).toBe(false)
  })

  it("a reviewer's latest verdict is what counts: dismissed or changes requested after approving revokes it, a comment does not", () => {
    expect(approvalOf([review('maya', 'APPROVED'), review('maya', 'CHANGES_REQUESTED')], HEAD, WRITERS).approved).toBe(false)
    expect(approvalOf([review('maya', 'DISMISSED')], HEAD, WRITERS).approved).toBe(false)
    expect(approvalOf([review('maya', 'APPROVED'), review('maya', 'COMMENTED')], HEAD, WRITERS).approved).toBe(true)
  })

  it("another trusted reviewer's latest CHANGES_REQUESTED blocks an approval, on any commit, until it is dismissed or turned into an approval", () => {
    const blocked = approvalOf([review('maya', 'APPROVED'), review('lee', 'CHANGES_REQUESTED', OLD)], HEAD, WRITERS)
    expect(blocked).toEqual({ approved: false, reason: 'changes requested by lee (maintain): their latest review must be an approval, or be dismissed' })
    expect(approvalOf([review('lee', 'CHANGES_REQUESTED'), review('maya', 'APPROVED'), review('lee', 'DISMISSED')], HEAD, WRITERS).approved).toBe(true)
    expect(approvalOf([review('lee', 'CHANGES_REQUESTED'), review('maya', 'APPROVED'), review('lee', 'APPROVED', OLD)], HEAD, WRITERS).approved).toBe(true)
    // A comment after the request for changes does not lift it.
    expect(approvalOf([review('lee', 'CHANGES_REQUESTED'), review('lee', 'COMMENTED'), review('maya', 'APPROVED')], HEAD, WRITERS).approved).toBe(false)
  })

  it('changes requested by someone without write access do not block', () => {
    const reviews = [review('maya', 'APPROVED'), review('pat', 'CHANGES_REQUESTED')]
    expect(approvalOf(reviews, HEAD, new Map([...WRITERS, ...roles({ pat: 'triage' })]))).toMatchObject({ approved: true, reviewer: 'maya' })
  })

  it('ignores reviews by deleted users', () => {
    expect(approvalOf([{ user: null, state: 'APPROVED', commit_id: HEAD }], HEAD, WRITERS).approved).toBe(false)
  })
})
