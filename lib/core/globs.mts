// Repository globs: the one set of rules for the path lists in build.config.json
// (buildImage.inputs, generated[].paths), used by the content tag and by update-generated.
//   - matched against repo-relative paths (`**` crosses directories, dotfiles included);
//   - a pattern that names a directory means everything under it;
//   - `!pattern` excludes;
//   - a leading `./` and a trailing `/` are ignored;
//   - nothing absolute and no `..`: a glob never reaches outside the repository
//     (checked once, when the config is validated: globProblem).
import picomatch from 'picomatch'

/** Why a pattern may not be used, or undefined when it is fine. */
export function globProblem(pattern: string): string | undefined {
  const bare = pattern.replace(/^!/, '')
  if (bare.startsWith('/') || bare.split('/').includes('..')) {
    return `${JSON.stringify(pattern)} reaches outside the repository (expected a glob relative to the repository root)`
  }
  return undefined
}

export interface IncludeGlob {
  pattern: string
  matches: (file: string) => boolean
}

export interface RepoGlobs {
  includes: IncludeGlob[]
  excluded: (file: string) => boolean
}

/** The include and exclude halves of a pattern list. */
export function compileGlobs(patterns: string[]): RepoGlobs {
  const includes = patterns
    .filter((p) => !p.startsWith('!'))
    .map((pattern) => {
      const clean = pattern.replace(/^\.\//, '').replace(/\/+$/, '')
      const isMatch = picomatch(clean, { dot: true })
      const underDir = picomatch(`${clean}/**`, { dot: true })
      return { pattern, matches: (file: string) => isMatch(file) || underDir(file) }
    })
  const excludes = patterns.filter((p) => p.startsWith('!')).map((p) => picomatch(p.slice(1).replace(/^\.\//, ''), { dot: true }))
  return { includes, excluded: (file) => excludes.some((ex) => ex(file)) }
}

/** Whether a repo-relative path is matched by the list (some include, no exclude). */
export function globMatcher(patterns: string[]): (file: string) => boolean {
  const { includes, excluded } = compileGlobs(patterns)
  return (file) => includes.some((g) => g.matches(file)) && !excluded(file)
}
