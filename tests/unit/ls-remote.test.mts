// lib/core/ls-remote.mts: the one reader of `git ls-remote` output (the bots, prune).
import { describe, expect, it } from 'vitest'
import { headsFromLsRemote, parseLsRemote } from '../../lib/core/ls-remote.mts'

const h = (c: string) => c.repeat(40)

describe('parseLsRemote', () => {
  it('branches, tags peeled to their commits, the HEAD branch; odd lines ignored', () => {
    const text = [
      'ref: refs/heads/main\tHEAD',
      `${h('1')}\tHEAD`,
      `${h('1')}\trefs/heads/main`,
      `${h('2')}\trefs/heads/release/1.x`,
      `${h('3')}\trefs/tags/v1.0.0`,
      `${h('4')}\trefs/tags/v1.0.0^{}`,
      `${h('5')}\trefs/tags/light`,
      `${h('6')}\trefs/pull/1/head`,
      'garbage',
    ].join('\n')
    const refs = parseLsRemote(text)
    expect(refs.head).toBe('main')
    expect([...refs.heads]).toEqual([['main', h('1')], ['release/1.x', h('2')]])
    expect([...refs.tags]).toEqual([['v1.0.0', h('4')], ['light', h('5')]])
  })
})

describe('parseLsRemote: only whole lines of the documented shape', () => {
  it('ignores lines with anything before the object id or after the ref', () => {
    const refs = parseLsRemote(
      [
        `x${h('1')}\trefs/heads/a`,
        `${h('1')}x\trefs/heads/b`,
        `${h('1')}\trefs/heads/c `.replace(/ $/, ''),
        `${h('2')}\tnotrefs/heads/d`,
        `${h('2')}\trefs/remotes/e`,
        `${h('1').slice(1)}\trefs/heads/short`,
        `${'A'.repeat(40)}\trefs/heads/upper`,
        ` ref: refs/heads/x\tHEAD`,
        'ref: refs/heads/y\tHEADS',
      ].join('\n'),
    )
    expect([...refs.heads]).toEqual([['c', h('1')]])
    expect(refs.tags.size).toBe(0)
    expect(refs.head).toBeUndefined()
  })

  it('reads sha256 object ids, and a peeled line wins whichever comes first', () => {
    const long = 'f'.repeat(64)
    const refs = parseLsRemote([`${long}\trefs/heads/main`, `${h('4')}\trefs/tags/v1^{}`, `${h('3')}\trefs/tags/v1`, `${h('5')}\trefs/tags/a^{}x`].join('\n'))
    expect(refs.heads.get('main')).toBe(long)
    expect([...refs.tags]).toEqual([['v1', h('4')], ['a^{}x', h('5')]])
  })
})

describe('headsFromLsRemote', () => {
  it('the branches asked for that the remote lists, nothing else', () => {
    const text = [`${h('1')}\trefs/heads/main`, `${h('2')}\trefs/heads/release-1.0`, `${h('3')}\trefs/tags/release-2.0`, 'garbage'].join('\n')
    expect([...headsFromLsRemote(text, ['release-1.0', 'release-2.0', 'gone'])]).toEqual([['release-1.0', h('2')]])
    expect(headsFromLsRemote('', ['main']).size).toBe(0)
  })

  it('a line not of the documented shape names no branch', () => {
    const text = [`${h('1')} \trefs/heads/a`, `x\trefs/heads/b`, `${h('1').slice(2)}\trefs/heads/c`, `${h('1')}\trefs/heads/d`].join('\n')
    expect([...headsFromLsRemote(text, ['a', 'b', 'c', 'd'])]).toEqual([['d', h('1')]])
  })
})
