import { describe, expect, it } from 'vitest'
import { contextSources, earlierStages, missingSources, sourceExists } from '../../lib/image/dockerfile.mts'
import { checkContextSources, missingFromOutput } from '../../lib/image/build-image.mts'
import type { InputFile } from '../../lib/image/content-tag.mts'
import { validateConfig } from '../../lib/core/config.mts'

const sources = (text: string, args: Record<string, string> = {}) => contextSources(text, args).map((s) => s.source)

describe('contextSources', () => {
  it('finds COPY and ADD sources, skipping options and the destination', () => {
    const text = [
      'FROM busybox',
      'COPY a.txt b.txt /dest/',
      'copy --chown=1:1 --chmod=755 tools/run.sh /usr/local/bin/',
      'ADD vendor.tar.gz /opt/',
      'COPY ["with space.txt", "/x/"]',
    ].join('\n')
    expect(sources(text)).toEqual(['a.txt', 'b.txt', 'tools/run.sh', 'vendor.tar.gz', 'with space.txt'])
  })

  it('skips other stages, URLs and heredocs', () => {
    const text = [
      'FROM busybox AS builder',
      'COPY --from=builder /out /out',
      'COPY --from=node:20 /usr/local/bin/node /usr/local/bin/',
      'ADD https://example.com/x.tgz /opt/',
      'ADD git@github.com:acme/x.git /src',
      'COPY <<EOF /etc/motd',
    ].join('\n')
    expect(sources(text)).toEqual([])
  })

  it('joins continuation lines, drops comments, honours the escape directive', () => {
    expect(sources('FROM a\n# COPY nope.txt /\nCOPY \\\n  one.txt \\\n  # inside\n  two.txt /d/\n')).toEqual(['one.txt', 'two.txt'])
    expect(sources('# escape=`\nFROM a\nCOPY one.txt `\n  C:\\dest\\\n')).toEqual(['one.txt'])
  })

  it('resolves ARG defaults, build args and ENV; skips what it cannot resolve', () => {
    const text = 'ARG DIR=conf\nARG FILE\nFROM a\nENV LOCK=yarn.lock\nCOPY ${DIR}/app.yml $FILE $LOCK $UNKNOWN /d/\n'
    expect(sources(text)).toEqual(['conf/app.yml', 'yarn.lock'])
    expect(sources(text, { FILE: 'x.txt', DIR: 'etc' })).toEqual(['etc/app.yml', 'x.txt', 'yarn.lock'])
  })

  it('finds RUN --mount=type=bind sources from the context', () => {
    const text = 'FROM a\nRUN --mount=type=bind,source=go.sum,target=/go.sum --mount=type=cache,target=/c --mount=type=bind,from=x,source=/y,target=/y go mod download\n'
    expect(contextSources(text)).toEqual([{ instruction: 'RUN --mount', source: 'go.sum', line: 2 }])
  })
})

describe('sourceExists', () => {
  const files = ['Dockerfile.build', 'package.json', 'tools/run.sh', 'tools/lib/x.sh', '.tool-versions']
  it.each([
    ['package.json', true],
    ['./package.json', true],
    ['/package.json', true],
    ['tools', true],
    ['tools/', true],
    ['.', true],
    ['*.json', true],
    ['tools/*.sh', true],
    ['t*', true],
    ['.tool-*', true],
    ['package-lock.json', false],
    ['tool', false],
    ['src', false],
    ['*.lock', false],
  ])('%s -> %s', (source, expected) => {
    expect(sourceExists(source, files)).toBe(expected)
  })
})

describe('missingSources', () => {
  it('names the sources the context lacks, with their line', () => {
    const text = 'FROM busybox\nCOPY package.json package-lock.json /app/\nCOPY secret.txt /\n'
    expect(missingSources(text, ['Dockerfile.build', 'package.json'])).toEqual([
      { instruction: 'COPY', source: 'package-lock.json', line: 2 },
      { instruction: 'COPY', source: 'secret.txt', line: 3 },
    ])
  })
})

describe('missingFromOutput', () => {
  it('reads the legacy builder message', () => {
    const out = 'Step 2/3 : COPY secret.txt /\nCOPY failed: file not found in build context or excluded by .dockerignore: stat secret.txt: file does not exist\n'
    expect(missingFromOutput(out)).toBe('secret.txt')
  })
  it('reads the BuildKit message', () => {
    const out = 'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref abc::def: "/secret.txt": not found\n'
    expect(missingFromOutput(out)).toBe('secret.txt')
  })
  it('is undefined for other failures', () => {
    expect(missingFromOutput('The command \'/bin/sh -c false\' returned a non-zero code: 1')).toBeUndefined()
  })
})

describe('checkContextSources', () => {
  const config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['Dockerfile.build', 'go.mod'] }, steps: { test: ['true'] } })
  const inputs: InputFile[] = [
    { path: 'Dockerfile.build', mode: '100644', id: 'a' },
    { path: 'go.mod', mode: '100644', id: 'b' },
  ]
  const lister = (files: string[]) => {
    const asked = { count: 0 }
    return { asked, list: async () => (asked.count++, files) }
  }

  it('asks git for the repository files only when a source is missing from the inputs', async () => {
    const ok = lister(['Dockerfile.build', 'go.mod'])
    await checkContextSources('Dockerfile.build', 'FROM busybox\nCOPY go.mod /src/\n', inputs, config, ok.list)
    expect(ok.asked.count).toBe(0)

    const missing = lister(['Dockerfile.build', 'go.mod', 'go.sum'])
    await expect(checkContextSources('Dockerfile.build', 'FROM busybox\nCOPY go.mod go.sum nowhere.txt /src/\n', inputs, config, missing.list)).rejects.toThrow(
      /"go\.sum" \(line 2\), which is in the repository but not in buildImage\.inputs.*"nowhere\.txt" \(line 2\), which is not in the repository at all/,
    )
    expect(missing.asked.count).toBe(1)
  })
})

describe('earlierStages: what a build of the last stage runs besides it', () => {
  it('the stages it copies from or builds on, directly or through another, by name or number', () => {
    const text = [
      'FROM busybox AS tools',
      'RUN make tools',
      'FROM busybox AS mounted',
      'RUN true',
      'FROM tools AS deps',
      'COPY deps.lock /',
      'FROM busybox:latest',
      'COPY --from=deps /opt /opt',
      'RUN --mount=type=cache,target=/c --mount=type=bind,from=1,source=/x,target=/y true',
    ].join('\n')
    expect(earlierStages(text)).toEqual(['tools', 'mounted', 'deps'])
    expect(earlierStages('FROM busybox\nRUN true\n')).toEqual([])
    expect(earlierStages('FROM busybox AS a\nRUN true\nFROM busybox\nCOPY --from=busybox:latest /bin/sh /sh\n')).toEqual([])
  })
})
