import { describe, expect, it } from 'vitest'
import { commandFor, helpText, parseFlags, PROJECT_FLAGS, UsageError, type CommandSpec } from '../../lib/core/cli.mts'
import { listFew, redact, registerSecret, mmss, table } from '../../lib/core/log.mts'

const spec = {
  name: 'x',
  about: 'Does x.',
  flags: {
    json: { help: 'print JSON' },
    repo: PROJECT_FLAGS.repo,
    to: { type: 'repeatable', value: 'BRANCH', help: 'a target branch' },
    'cache-from': { default: true, help: 'build with no earlier image as cache' },
  },
} as const satisfies CommandSpec

describe('parseFlags', () => {
  it('parses known flags and repeatable ones', () => {
    const flags = parseFlags(['--json', '--repo', 'dir', '--to', 'a', '--to', 'b'], spec)!
    expect(flags.json).toBe(true)
    expect(flags.repo).toBe('dir')
    expect(flags.to).toEqual(['a', 'b'])
    expect(parseFlags([], spec)!.to).toEqual([])
  })

  it('takes a default-on switch as on, and --no-<name> as off', () => {
    expect(parseFlags([], spec)!['cache-from']).toBe(true)
    expect(parseFlags(['--no-cache-from'], spec)!['cache-from']).toBe(false)
    expect(parseFlags([], spec)!.json).toBe(false)
  })

  it('rejects unknown flags, missing values and repeated single flags as usage errors', () => {
    expect(() => parseFlags(['--jsno'], spec)).toThrow(UsageError)
    expect(() => parseFlags(['--jsno'], spec)).toThrow('unknown flag --jsno')
    expect(() => parseFlags(['--repo'], spec)).toThrow('--repo needs a value')
    expect(() => parseFlags(['--repo', 'a', '--repo', 'b'], spec)).toThrow('--repo was given more than once')
  })
})

describe('helpText', () => {
  it('prints the usage line, what it does, every flag of the spec with its help, and --help', () => {
    const text = helpText({ ...spec, more: 'Exit codes: 0 ok.' }, 'npx ci-build-scripts x')
    expect(text).toBe(
      [
        'Usage: npx ci-build-scripts x [options]',
        '',
        'Does x.',
        '',
        'Options:',
        '  --json             print JSON',
        '  --repo DIR         the repository (default: the one containing the current directory)',
        '  --to BRANCH        a target branch',
        '  --no-cache-from    build with no earlier image as cache',
        '  -h, --help         show this help',
        '',
        'Exit codes: 0 ok.',
        '',
      ].join('\n'),
    )
  })

  it('wraps long help under its flag, and puts a help after a long flag on the next line', () => {
    const text = helpText(
      { name: 'y', synopsis: ['--a', '--b'], about: 'Y.', flags: { 'with-a-long-name': { help: 'word '.repeat(30).trim() } } },
      'cmd y',
    )
    expect(text).toContain('Usage: cmd y --a\n       cmd y --b\n')
    const lines = text.split('\n')
    const at = lines.indexOf('  --with-a-long-name')
    expect(at).toBeGreaterThan(0)
    expect(lines.slice(at + 1, at + 3).every((l) => l.startsWith(' '.repeat(21) + 'word') && l.length <= 88)).toBe(true)
  })

  it('names the command that works where the text is read', () => {
    expect(commandFor('image-tag', '/p/node_modules/.bin/ci-build-scripts')).toBe('npx ci-build-scripts image-tag')
    expect(commandFor('image-tag', '/opt/ci-build-scripts/bin/ci-build-scripts.mjs')).toBe('npx ci-build-scripts image-tag')
    expect(commandFor('image-tag', '/repo/scripts/image-tag.mts')).toBe('npx zx scripts/image-tag.mts')
  })
})

describe('log helpers', () => {
  it('redacts registered secrets and URL credentials', () => {
    registerSecret('s3cr3t-value')
    expect(redact('token s3cr3t-value in https://user:pw@example.com/x')).toBe('token *** in https://<credentials>@example.com/x')
  })

  it('lists the first few items, then how many more', () => {
    expect(listFew(['a', 'b', 'c'])).toBe('a, b, c')
    expect(listFew(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c, d, e')
    expect(listFew(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c, d, e and 2 more')
    expect(listFew(['a', 'b', 'c'], 2)).toBe('a, b and 1 more')
    expect(listFew([])).toBe('')
  })

  it('formats mm:ss and aligned tables', () => {
    expect(mmss(77_400)).toBe('01:17')
    expect(mmss(0)).toBe('00:00')
    expect(table([['phase', 'time'], ['image pull', '01:19']])).toBe('phase       time\nimage pull  01:19')
  })
})
