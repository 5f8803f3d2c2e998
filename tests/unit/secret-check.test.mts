// The secrets check every runScript run goes through (tests/helpers/run.mts): it must
// catch a leak, or its silence means nothing.
import { describe, expect, it } from 'vitest'
import { findLeaks, secretsIn } from '../helpers/run.mts'

describe('the secrets check of runScript', () => {
  const secrets = secretsIn({ REGISTRY_PASSWORD: 'reg-secret-1', GITHUB_TOKEN: 'ghs_tok123', MY_API_SECRET: 'shh-secret', GH_TOKEN: '', CIRCLE_TOKEN: 'x', PATH: '/bin' })

  it('takes every non-trivial value whose name looks like a secret', () => {
    expect(secrets.map((s) => s.name)).toEqual(['REGISTRY_PASSWORD', 'GITHUB_TOKEN', 'MY_API_SECRET'])
  })

  it('the suite runs with known secrets (vitest.config.mts)', () => {
    expect(process.env.REGISTRY_PASSWORD).toBe('suite-registry-secret-6c1f')
    expect(process.env.GITHUB_TOKEN).toBe('ghs_suiteToken6c1f')
  })

  it('finds a secret in stdout, stderr or a command line, and names it without showing it', () => {
    const leaks = findLeaks(secrets, {
      stdout: 'tag\npassword=reg-secret-1\n',
      stderr: 'fetching with ghs_tok123\n',
      argv: ['node zx scripts/x.mts', 'docker login -p shh-secret 127.0.0.1:5000'],
    })
    expect(leaks).toEqual([
      'REGISTRY_PASSWORD in stdout: password=<REGISTRY_PASSWORD>',
      'GITHUB_TOKEN in stderr: fetching with <GITHUB_TOKEN>',
      'MY_API_SECRET in a child\'s argv: docker login -p <MY_API_SECRET> 127.0.0.1:5000',
    ])
    expect(leaks.join('\n')).not.toMatch(/reg-secret-1|ghs_tok123|shh-secret/)
  })

  it('allows only the ::add-mask:: line that asks GitHub Actions to mask the value', () => {
    expect(findLeaks(secrets, { stdout: '', stderr: '::add-mask::ghs_tok123\nok\n', argv: [] })).toEqual([])
    expect(findLeaks(secrets, { stdout: '::add-mask::ghs_tok123\n', stderr: 'x ::add-mask::ghs_tok123\n', argv: [] })).toHaveLength(2)
  })
})
