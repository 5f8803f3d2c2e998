import { describe, expect, it } from 'vitest'
import { checkContextSources, contextSources, copiesWholeContext, earlierStages, instructions, missingFromOutput, missingSources, sourceExists } from '../../lib/image/dockerfile.mts'
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

describe('instructions', () => {
  it('reads keyword, arguments and starting line; continuation lines join with a space', () => {
    expect(instructions('FROM a  \n\n  copy  a.txt\\\nb.txt   /d/ \t\nRUN x')).toEqual([
      { keyword: 'FROM', args: 'a', line: 1 },
      { keyword: 'COPY', args: 'a.txt b.txt   /d/', line: 3 },
      { keyword: 'RUN', args: 'x', line: 5 },
    ])
  })

  it('continues a line whose escape is followed by trailing blanks', () => {
    expect(instructions('COPY a.txt \\  \t\n  /d/')).toEqual([{ keyword: 'COPY', args: 'a.txt    /d/', line: 1 }])
  })

  it('drops comments before and inside an instruction, even one that ends in the escape character', () => {
    expect(instructions('# note \\\nFROM a\n  # indented \\\nCOPY \\\n  # inside\n a#b.txt \\\n  /d/')).toEqual([
      { keyword: 'FROM', args: 'a', line: 2 },
      { keyword: 'COPY', args: 'a#b.txt    /d/', line: 4 },
    ])
  })

  it('takes no line that starts without a keyword for an instruction', () => {
    expect(instructions('@echo x\n{ y }\nFROM a')).toEqual([{ keyword: 'FROM', args: 'a', line: 3 }])
  })

  // Under the backtick escape a line ending in a backslash is complete; under the default it continues.
  const windows = 'FROM a\nCOPY one.txt C:\\dest\\\nCOPY two.txt /d/'
  const split = [
    { keyword: 'FROM', args: 'a', line: 2 },
    { keyword: 'COPY', args: 'one.txt C:\\dest\\', line: 3 },
    { keyword: 'COPY', args: 'two.txt /d/', line: 4 },
  ]
  it.each(['# escape=`', '#escape=`', '#  ESCAPE =  `  ', '# escape=`\t'])('honours the escape directive %j', (directive) => {
    expect(instructions(`${directive}\n${windows}`)).toEqual(split)
  })

  it('reads every parser directive at the top, not only the first', () => {
    expect(instructions(`# syntax=docker/dockerfile:1\n# escape=\`\n${windows}`).map((i) => i.args)).toEqual(['a', 'one.txt C:\\dest\\', 'two.txt /d/'])
  })

  it.each([
    ['a comment that is no directive ends them', '# a note\n# escape=`'],
    ['a directive with two values is none', '# syntax=x y\n# escape=`'],
    ['only `escape` sets the escape character', '# syntax=`'],
    ['the escape character is a backslash or a backtick', '# escape=x'],
    ['a directive after an instruction is a comment', 'FROM a\n# escape=`'],
    ['a `#` inside an instruction starts no directive', 'FROM a #escape=`'],
  ])('%s', (_, head) => {
    const parsed = instructions(`${head}\n${windows.replace('x\n', '\n')}`)
    expect(parsed.at(-1)).toEqual({ keyword: 'COPY', args: 'one.txt C:\\dest COPY two.txt /d/', line: parsed.at(-1)!.line })
  })
})

describe('contextSources at the edges', () => {
  it('reads quoted words in the shell form and the JSON form', () => {
    expect(sources(`COPY "with space.txt" 'single quoted.txt' "esc\\"aped" plain.txt /d/`)).toEqual(['with space.txt', 'single quoted.txt', 'esc\\"aped', 'plain.txt'])
    expect(sources('COPY ["a.txt", "b c.txt", "/d/"]')).toEqual(['a.txt', 'b c.txt'])
  })

  it('takes options only before the first source, and a source named like an option after it', () => {
    expect(sources('COPY --chown=1:1 a.txt --b.txt /d/')).toEqual(['a.txt', '--b.txt'])
    expect(sources('COPY --chmod=755 --from=build /out /d/\nCOPY --link x.txt /d/')).toEqual(['x.txt'])
    expect(sources('COPY only-a-destination\nCOPY --chown=1:1')).toEqual([])
  })

  it('skips what ADD fetches, and keeps a URL in COPY (which cannot fetch) as a file', () => {
    expect(sources('ADD https://x.org/a.tgz ftp://x.org/b s3+https://x/c git@host:r.git backup-git@2024.tar /d/')).toEqual(['backup-git@2024.tar'])
    expect(sources('COPY https://x.org/a.tgz /d/')).toEqual(['https://x.org/a.tgz'])
  })

  it('resolves ${VAR} with its default forms, and keeps an ARG redeclared without a default', () => {
    const text = 'ARG DIR=conf\nARG PAIR=k=v\nFROM a\nARG DIR\nCOPY ${DIR}/a ${DIR:-x}/b ${DIR-yy}/c ${DIR:+zz}/d ${DIR+w}/e $PAIR /d/'
    expect(sources(text)).toEqual(['conf/a', 'conf/b', 'conf/c', 'conf/d', 'conf/e', 'k=v'])
  })

  it('reads both forms of ENV', () => {
    expect(sources('ENV LOCK yarn.lock\nENV MSG two words\nENV A=1 B=x=y\nCOPY $LOCK "$MSG" $A $B /d/')).toEqual(['yarn.lock', 'two words', '1', 'x=y'])
  })

  it('reads bind mounts of RUN only: the type defaults to bind, src is source, no source is the whole context', () => {
    const text = [
      'RUN --mount=source=a.txt,target=/a --mount=type=bind,src=b.txt,target=/b --mount=type=bind,target=/ctx --mount=type=bind,source=$NOPE,target=/n make',
      'CMD echo --mount=type=bind,source=not-a-mount.txt',
    ].join('\n')
    expect(contextSources(text)).toEqual([
      { instruction: 'RUN --mount', source: 'a.txt', line: 1 },
      { instruction: 'RUN --mount', source: 'b.txt', line: 1 },
      { instruction: 'RUN --mount', source: '.', line: 1 },
    ])
  })
})

describe('sourceExists', () => {
  const files = ['Dockerfile.build', 'package.json', 'tools/run.sh', 'tools/lib/x.sh', '.tool-versions', 'config/.env']
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
    ['/', true],
    ['./', true],
    ['tools/.', true],
    ['//package.json', true],
    ['tools//', true],
    ['config/.env', true],
    // Docker's wildcards are Go's filepath.Match: `*` matches a leading dot, braces are literal.
    ['*-versions', true],
    ['package{,-lock}.json', false],
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

describe('copiesWholeContext', () => {
  const config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['Dockerfile.build'], buildArgs: { SRC: '.' } }, steps: { test: ['true'] } })
  it('finds the first instruction that copies the whole context, whatever it is spelt', () => {
    for (const source of ['.', './', '/', './.', '$SRC']) {
      expect(copiesWholeContext(`FROM busybox\nARG SRC\nCOPY go.mod /x/\nCOPY ${source} /src/\n`, config), source).toMatchObject({ line: 4 })
    }
  })
  it('is undefined when every source is a path inside the context', () => {
    expect(copiesWholeContext('FROM busybox\nCOPY go.mod ./src /x/\nADD .env /y\n', config)).toBeUndefined()
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
