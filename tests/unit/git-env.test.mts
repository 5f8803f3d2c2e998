// withGitConfig: git config through the environment, never argv.
import { describe, expect, it } from 'vitest'
import { withGitConfig } from '../../lib/core/git.mts'

describe('withGitConfig', () => {
  it('adds entries as GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n', () => {
    expect(withGitConfig({ PATH: '/bin' }, [['core.hooksPath', '/dev/null'], ['a.b', '']])).toEqual({
      PATH: '/bin',
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: '/dev/null',
      GIT_CONFIG_KEY_1: 'a.b',
      GIT_CONFIG_VALUE_1: '',
    })
  })

  it('keeps entries already in the env and comes after them', () => {
    const env = withGitConfig({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'x.y', GIT_CONFIG_VALUE_0: 'z' }, [['a.b', 'c']])
    expect(env).toMatchObject({ GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'x.y', GIT_CONFIG_KEY_1: 'a.b', GIT_CONFIG_VALUE_1: 'c' })
  })

  it('does not change the env it was given', () => {
    const env = { PATH: '/bin' }
    withGitConfig(env, [['a.b', 'c']])
    expect(env).toEqual({ PATH: '/bin' })
  })
})
