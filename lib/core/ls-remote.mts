// The one reader of `git ls-remote` output, for the bots and the registry clean-up: only
// whole lines of the documented shape count (`<object id>\t<ref>`, and with `--symref`
// `ref: refs/heads/<branch>\tHEAD`); anything else a remote sends is ignored.

export interface RemoteRefs {
  /** Branch name -> commit. */
  heads: Map<string, string>
  /** Tag name -> the commit it points at (peeled). */
  tags: Map<string, string>
  /** The remote's HEAD branch, when it says (`--symref`). */
  head?: string
}

/** Parse `git ls-remote [--symref]` output: branches, tags (peeled), the HEAD branch. */
export function parseLsRemote(text: string): RemoteRefs {
  const heads = new Map<string, string>()
  const tags = new Map<string, string>()
  let head: string | undefined
  for (const line of text.split('\n')) {
    const sym = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line)
    if (sym) {
      head = sym[1]
      continue
    }
    const m = /^([0-9a-f]{40}|[0-9a-f]{64})\t(refs\/(heads|tags)\/(.+?))(\^\{\})?$/.exec(line)
    if (!m) continue
    if (m[3] === 'heads') heads.set(m[4], m[1])
    // The peeled line (^{}) of an annotated tag comes after it and names the commit.
    else if (m[5] || !tags.has(m[4])) tags.set(m[4], m[1])
  }
  return { heads, tags, head }
}

/** branch -> commit from `git ls-remote --heads` output, for those of `branches` listed. */
export function headsFromLsRemote(text: string, branches: string[]): Map<string, string> {
  return new Map([...parseLsRemote(text).heads].filter(([branch]) => branches.includes(branch)))
}
