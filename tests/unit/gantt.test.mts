import { describe, expect, it } from 'vitest'
import { mermaidGantt, minutesSeconds } from '../../lib/runner/gantt.mts'

describe('the job summary chart (Mermaid gantt)', () => {
  it('a section per entry, a bar per phase with its start and end in ms, failed bars crit', () => {
    const chart = mermaidGantt('test-and-build: failed (test: exit 3) in 7m 50s', [
      { name: 'build image', bars: [{ label: 'image (pulled)', startMs: 0, durationMs: 79_000 }] },
      {
        name: 'steps',
        bars: [
          { label: 'test', startMs: 79_000, durationMs: 390_400.4, failed: true },
          { label: 'build', startMs: 469_400.4, durationMs: 1_499.6 },
        ],
      },
    ])
    expect(chart).toBe(
      [
        '```mermaid',
        'gantt',
        '  title test-and-build: failed (test: exit 3) in 7m 50s',
        '  dateFormat x',
        '  axisFormat %M:%S',
        '  section build image',
        '  image (pulled) (1m 19s) :done, p1, 0, 79000',
        '  section steps',
        '  test (6m 30s) :crit, p2, 79000, 469400',
        '  build (1s) :done, p3, 469400, 470900',
        '```',
      ].join('\n'),
    )
  })

  it('a section with no bars is left out; a bar of no length gets 1 ms, so it is drawn', () => {
    const chart = mermaidGantt('t', [
      { name: 'empty', bars: [] },
      { name: 'shards', bars: [{ label: 'shard 1/2, 0 units', startMs: 0, durationMs: 0 }] },
    ])
    expect(chart).not.toContain('section empty')
    expect(chart).toContain('  section shards\n  shard 1/2, 0 units (0s) :done, p1, 0, 1\n```')
  })

  it('ids are unique across sections', () => {
    const chart = mermaidGantt('t', [
      { name: 'a', bars: [{ label: 'x', startMs: 0, durationMs: 1000 }] },
      { name: 'b', bars: [{ label: 'y', startMs: 1000, durationMs: 1000 }, { label: 'z', startMs: 0, durationMs: 5 }] },
    ])
    expect([...chart.matchAll(/, (p\d+), /g)].map((m) => m[1])).toEqual(['p1', 'p2', 'p3'])
  })

  it('nothing in a title, section or label can end the line or the label early', () => {
    const chart = mermaidGantt('a#b;c\nd: e', [{ name: 's: 1;2#3', bars: [{ label: 'x: y;\r\nz#w', startMs: -5, durationMs: 1000 }] }])
    expect(chart.split('\n')).toEqual(['```mermaid', 'gantt', '  title a b c d: e', '  dateFormat x', '  axisFormat %M:%S', '  section s 1 2 3', '  x y z w (1s) :done, p1, 0, 1000', '```'])
    // What is replaced at either end leaves no space behind.
    expect(mermaidGantt('#t;', [{ name: ';s:', bars: [{ label: '#x;', startMs: 0, durationMs: 1000 }] }]).split('\n').filter((l) => /title|section|p1/.test(l))).toEqual(['  title t', '  section s', '  x (1s) :done, p1, 0, 1000'])
  })

  it('durations without a colon: seconds under a minute, then minutes and two-digit seconds', () => {
    expect(minutesSeconds(0)).toBe('0s')
    expect(minutesSeconds(59_499)).toBe('59s')
    expect(minutesSeconds(59_500)).toBe('1m 00s')
    expect(minutesSeconds(65_000)).toBe('1m 05s')
    expect(minutesSeconds(3_725_000)).toBe('62m 05s')
  })
})
