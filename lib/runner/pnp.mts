// A Yarn Plug'n'Play checkout's packages that live outside it. Its .pnp.cjs maps every
// package to a path, and Yarn 2+ keeps the packages' archives in a global cache
// (~/.yarn/berry/cache by default), outside the checkout the steps' container mounts:
// those folders are mounted as well, read-only, at their own paths, so the steps run
// under the checkout's own install as they do with its node_modules.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

/** The part of Plug'n'Play's runtime API read here (`require('<root>/.pnp.cjs')`). */
interface PnpApi {
  getAllLocators(): unknown[]
  getPackageInformation(locator: unknown): { packageLocation: string } | null
}

/**
 * The folders outside `root` that its `.pnp.cjs` reads packages from (for a package in a
 * zip archive, the archive's folder), existing ones only, none inside another, none that
 * holds the checkout; [] without a `.pnp.cjs`. Loading it runs the checkout's own file, as `yarn` on this machine does.
 */
export function pnpFoldersOutside(root: string): string[] {
  const file = path.join(root, '.pnp.cjs')
  if (!fs.existsSync(file)) return []
  const api = createRequire(import.meta.url)(file) as PnpApi
  const folders = new Set<string>()
  for (const locator of api.getAllLocators()) {
    const location = api.getPackageInformation(locator)?.packageLocation
    if (!location) continue
    const zip = location.indexOf('.zip/')
    const folder = path.resolve(zip === -1 ? location : path.dirname(location.slice(0, zip + '.zip'.length)))
    const rel = path.relative(root, folder)
    // Outside, and not a folder the checkout is in (a `portal:` to a parent): that would
    // show the container everything beside the checkout.
    const outside = rel.startsWith('..') || path.isAbsolute(rel)
    if (outside && !root.startsWith(folder + path.sep) && folder !== path.parse(folder).root && fs.existsSync(folder)) folders.add(folder)
  }
  const sorted = [...folders].sort()
  return sorted.filter((f) => !sorted.some((other) => other !== f && f.startsWith(other + path.sep)))
}
