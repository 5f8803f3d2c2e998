// Which folders outside a Yarn Plug'n'Play checkout its steps' container must see: read
// from the checkout's .pnp.cjs through Plug'n'Play's runtime API (here a .pnp.cjs that
// answers it with fixed locations; init-node-lifecycle.test.mts runs a real one).
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { pnpFoldersOutside } from '../../lib/runner/pnp.mts'
import { tempDir, writeFiles } from '../helpers/repo.mts'

/** A checkout whose .pnp.cjs maps packages to `locations` (absolute, as the runtime answers). */
function checkout(locations: (root: string, home: string) => string[]): { root: string; home: string } {
  const home = fs.realpathSync(tempDir('cbs-home-'))
  const root = path.join(home, 'work', 'repo')
  fs.mkdirSync(root, { recursive: true })
  const list = locations(root, home)
  writeFiles(root, {
    '.pnp.cjs': [
      `const locations = ${JSON.stringify(list)}`,
      'module.exports = {',
      '  getAllLocators: () => [...locations.map((_, i) => ({ name: `p${i}`, reference: "npm:1.0.0" })), { name: "none", reference: "x" }],',
      '  getPackageInformation: (l) => (l.name === "none" ? null : { packageLocation: locations[Number(l.name.slice(1))] }),',
      '}',
      '',
    ].join('\n'),
  })
  return { root, home }
}

describe('pnpFoldersOutside', () => {
  it('the folder of each archive outside the checkout, once; nothing inside it', () => {
    const { root, home } = checkout((root, home) => [
      `${root}/`, // the project itself
      `${root}/.yarn/unplugged/native-npm-1.0.0/node_modules/native/`,
      `${home}/.yarn/berry/cache/ms-npm-2.1.3-81ff3cfac1-10c0.zip/node_modules/ms/`,
      `${home}/.yarn/berry/cache/@types-node-npm-20.0.0-1-10c0.zip/node_modules/@types/node/`,
      `${home}/.yarn/berry/cache/virtual/x.zip/node_modules/x/`, // inside the folder above
      `${home}/elsewhere/portal/`, // a portal: to a folder outside
      `${home}/gone/cache/y.zip/node_modules/y/`, // no such folder here: never mounted (docker would make it)
      `${home}/work/`, // a folder the checkout is in: never (it would show everything beside it)
      '/', // never
    ])
    fs.mkdirSync(path.join(home, '.yarn/berry/cache/virtual'), { recursive: true })
    fs.mkdirSync(path.join(home, 'elsewhere/portal'), { recursive: true })
    expect(pnpFoldersOutside(root)).toEqual([path.join(home, '.yarn/berry/cache'), path.join(home, 'elsewhere/portal')])
  })

  it('a checkout without a .pnp.cjs, or whose packages are all inside it: none', () => {
    expect(pnpFoldersOutside(tempDir())).toEqual([])
    const { root } = checkout((root) => [`${root}/`, `${root}/.yarn/cache/ms-npm-2.1.3-81ff3cfac1-10c0.zip/node_modules/ms/`])
    expect(pnpFoldersOutside(root)).toEqual([])
  })
})
