import { describe, expect, it } from 'vitest'
import { approvalOf, type ReviewData } from '../../lib/bots/approval.mts'

const HEAD = 'b'.repeat(40)
const OLD = 'a'.repeat(40)
const review = (login: string, state: string, commit: string | null = HEAD, association = 'COLLABORATOR'): ReviewData => ({
  user: { login },
  state,
  commit_id: commit,
  author_association: association,
})

describe('approvalOf', () => {
  it.each(['OWNER', 'MEMBER', 'COLLABORATOR'])('an approval of exactly the head by a %s approves it', (association) => {
    expect(approvalOf([review('maya', 'APPROVED', HEAD, association)], HEAD)).toMatchObject({ approved: true, reviewer: 'maya' })
  })

  it.each(['CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR', 'FIRST_TIMER', 'NONE', 'MANNEQUIN'])('an approval by a %s does not', (association) => {
    const result = approvalOf([review('pat', 'APPROVED', HEAD, association)], HEAD)
    expect(result.approved).toBe(false)
    expect(result.reason).toContain(`pat (${association})`)
  })

  it('only approvals count: comments and requested changes do not', () => {
    expect(approvalOf([review('maya', 'COMMENTED'), review('lee', 'CHANGES_REQUESTED')], HEAD).approved).toBe(false)
    expect(approvalOf([], HEAD)).toEqual({ approved: false, reason: 'no approving review from an owner, member or collaborator' })
  })

  it('an approval of an earlier commit does not approve the head: a push needs a new approval', () => {
    const result = approvalOf([review('maya', 'APPROVED', OLD)], HEAD)
    expect(result.approved).toBe(false)
    expect(result.reason).toBe(`maya approved ${OLD.slice(0, 12)}, not ${HEAD.slice(0, 12)}: a push after an approval needs a new approval`)
    expect(approvalOf([review('maya', 'APPROVED', OLD), review('maya', 'APPROVED', HEAD)], HEAD).approved).toBe(true)
    expect(approvalOf([review('maya', 'APPROVED', null)], HEAD).approved).toBe(false)
  })

  it("a reviewer's latest verdict is what counts: dismissed or changes requested after approving revokes it, a comment does not", () => {
    expect(approvalOf([review('maya', 'APPROVED'), review('maya', 'CHANGES_REQUESTED')], HEAD).approved).toBe(false)
    expect(approvalOf([review('maya', 'DISMISSED')], HEAD).approved).toBe(false)
    expect(approvalOf([review('maya', 'APPROVED'), review('maya', 'COMMENTED')], HEAD).approved).toBe(true)
    // Another maintainer's approval stands on its own.
    expect(approvalOf([review('maya', 'APPROVED'), review('lee', 'CHANGES_REQUESTED')], HEAD)).toMatchObject({ approved: true, reviewer: 'maya' })
  })

  it('ignores reviews by deleted users', () => {
    expect(approvalOf([{ user: null, state: 'APPROVED', commit_id: HEAD, author_association: 'OWNER' }], HEAD).approved).toBe(false)
  })
})
