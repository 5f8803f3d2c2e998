// The content tag's pure parts: which files are inputs, the manifest text that is
// hashed into the tag, and the build image's repository.
import { describe, expect, it } from 'vitest'
import { ConfigError, validateConfig } from '../../lib/core/config.mts'
import { buildImageRepository, manifestText, selectInputs, treeBlobs, type InputFile } from '../../lib/image/content-tag.mts'

const FILES = ['Dockerfile.build', 'package.json', 'src/a.ts', 'src/b.ts', 'src/b.test.ts', 'Z', 'a']

describe('selectInputs', () => {
  it('the Dockerfile, then what the globs match minus exclusions, bytewise sorted, once each', () => {
    expect(selectInputs(FILES, 'Dockerfile.build', ['src/**', '!src/*.test.ts', 'src/a.ts', 'package.json', 'a', 'Z'])).toEqual([
      'Dockerfile.build',
      'Z',
      'a',
      'package.json',
      'src/a.ts',
      'src/b.ts',
    ])
  })

  it('an exclusion never drops the Dockerfile', () => {
    expect(selectInputs(FILES, 'Dockerfile.build', ['package.json', '!Dockerfile*'])).toEqual(['Dockerfile.build', 'package.json'])
  })

  it('a Dockerfile git does not see, or a glob that matches nothing, is a config error naming it', () => {
    expect(() => selectInputs(FILES, 'Dockerfile', ['src/**'])).toThrow(new ConfigError('buildImage.dockerfile: "Dockerfile" is not in the repository (or is ignored by git)'))
    expect(() => selectInputs(FILES, 'Dockerfile.build', ['src/**', 'lib/**'])).toThrow(
      new ConfigError('buildImage.inputs: "lib/**" matches no file (files ignored by git do not count)'),
    )
  })
})

describe('manifestText', () => {
  it('ls-tree lines (odd paths quoted as git quotes them), then the build args sorted by name, each line ended', () => {
    const inputs: InputFile[] = [
      { path: 'Dockerfile', mode: '100644', id: 'a'.repeat(40) },
      { path: 'bin/run', mode: '100755', id: 'b'.repeat(40) },
      { path: 'tab\there', mode: '120000', id: 'c'.repeat(40) },
    ]
    expect(manifestText(inputs, { b: 'two "quoted"', B: '1', a: '' })).toBe(
      [
        `100644 blob ${'a'.repeat(40)}\tDockerfile`,
        `100755 blob ${'b'.repeat(40)}\tbin/run`,
        `120000 blob ${'c'.repeat(40)}\t"tab\\there"`,
        'build-arg B="1"',
        'build-arg a=""',
        'build-arg b="two \\"quoted\\""',
      ]
        .map((l) => l + '\n')
        .join(''),
    )
    expect(manifestText([], {})).toBe('')
  })
})

describe('buildImageRepository', () => {
  it('<registry>/<name>, or the name alone without a registry', () => {
    const config = validateConfig({ buildImage: { name: 'acme-build', inputs: ['x'] } })
    expect(buildImageRepository(config)).toBe('acme-build')
    expect(buildImageRepository({ ...config, registry: 'r.example:5000' })).toBe('r.example:5000/acme-build')
  })
})

describe('treeBlobs', () => {
  it('reads `git ls-tree -r -z` records: regular files and symlinks with their mode and id; submodules and junk left out', () => {
    const a = 'a'.repeat(40)
    const b = 'b'.repeat(64)
    const listing = [
      `100644 blob ${a}\tsrc/a b.ts`,
      `100755 blob ${b}\trun\nme.sh`,
      `120000 blob ${a}\tlink`,
      `160000 commit ${a}\tvendor/sub`,
      `x100644 blob ${a}\tbad1`,
      `10064 blob ${a}\tbad2`,
      `100644 blob ${a.toUpperCase()}\tbad3`,
      `100644 blob ${a}\t`,
      `100644 blob ${a}x\tbad4`,
      '',
    ].join('\0')
    expect([...treeBlobs(listing)]).toEqual([
      ['src/a b.ts', { mode: '100644', id: a }],
      ['run\nme.sh', { mode: '100755', id: b }],
      ['link', { mode: '120000', id: a }],
    ])
  })
})
