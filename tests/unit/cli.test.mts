import { describe, expect, it } from 'vitest'
import { parseFlags, UsageError } from '../../lib/core/cli.mts'
import { redact, registerSecret, mmss, table } from '../../lib/core/log.mts'

const spec = { usage: 'Usage: x', boolean: ['json'], string: ['repo'], repeatable: ['to'] }

describe('parseFlags', () => {
  it('parses known flags and repeatable ones', () => {
    const flags = parseFlags(['--json', '--repo', 'dir', '--to', 'a', '--to', 'b'], spec)!
    expect(flags.json).toBe(true)
    expect(flags.repo).toBe('dir')
    expect(flags.to).toEqual(['a', 'b'])
    expect(parseFlags([], spec)!.to).toEqual([])
  })

  it('rejects unknown flags, missing values and repeated single flags as usage errors', () => {
    expect(() => parseFlags(['--jsno'], spec)).toThrow(UsageError)
    expect(() => parseFlags(['--jsno'], spec)).toThrow('unknown flag --jsno')
    expect(() => parseFlags(['--repo'], spec)).toThrow('--repo needs a value')
    expect(() => parseFlags(['--repo', 'a', '--repo', 'b'], spec)).toThrow('--repo was given more than once')
  })
})

describe('log helpers', () => {
  it('redacts registered secrets and URL credentials', () => {
    registerSecret('s3cr3t-value')
    expect(redact('token s3cr3t-value in https://user:pw@example.com/x')).toBe('token *** in https://<credentials>@example.com/x')
  })

  it('formats mm:ss and aligned tables', () => {
    expect(mmss(77_400)).toBe('01:17')
    expect(mmss(0)).toBe('00:00')
    expect(table([['phase', 'time'], ['image pull', '01:19']])).toBe('phase       time\nimage pull  01:19')
  })
})
