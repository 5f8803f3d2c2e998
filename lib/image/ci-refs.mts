// CI configs that must name the build image statically (CircleCI's docker executor, a
// `container:` in GitHub Actions): find the references whose tag is not the current
// one (`image-tag --check-refs`) and rewrite them in place (`--write-refs`).
import { fs, path } from 'zx'

export interface StaleRef {
  file: string
  line: number
  found: string
}

/** The CI config files that may pin the build image: CircleCI's and GitHub Actions'. */
export async function ciConfigFiles(root: string): Promise<string[]> {
  const candidates = ['.circleci/config.yml', '.circleci/config.yaml']
  const workflows = path.join(root, '.github/workflows')
  if (await fs.pathExists(workflows)) {
    for (const name of (await fs.readdir(workflows)).sort()) {
      if (/\.ya?ml$/.test(name)) candidates.push(`.github/workflows/${name}`)
    }
  }
  const present: string[] = []
  for (const file of candidates) if (await fs.pathExists(path.join(root, file))) present.push(file)
  return present
}

function refPattern(repository: string): RegExp {
  const escaped = repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(?<![\\w./-])${escaped}:([0-9a-f]{40}(?:[0-9a-f]{24})?)(?![\\w.-])`, 'g')
}

/**
 * Find references to the build image whose tag is not `tag`; with `write`, rewrite
 * them in place (nothing else in the file changes).
 */
export async function syncRefs(root: string, repository: string, tag: string, write: boolean) {
  const stale: StaleRef[] = []
  let current = 0
  for (const file of await ciConfigFiles(root)) {
    const full = path.join(root, file)
    const text: string = await fs.readFile(full, 'utf8')
    const lines = text.split('\n')
    lines.forEach((line, i) => {
      for (const m of line.matchAll(refPattern(repository))) {
        if (m[1] === tag) current++
        else stale.push({ file, line: i + 1, found: m[0] })
      }
    })
    if (write && stale.some((s) => s.file === file)) {
      await fs.writeFile(full, text.replace(refPattern(repository), `${repository}:${tag}`))
    }
  }
  return { stale, current }
}
