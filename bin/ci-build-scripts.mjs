#!/usr/bin/env node
// ci-build-scripts <script> [flags]: run scripts/<script>.mts of this package through
// zx, from any directory, on the repository of the current directory (the scripts find
// it from the cwd, never from their own location; the cwd is left as it is).
//
// Installed as a package (`npx ci-build-scripts test-and-build`), and the runtime image's
// entrypoint (`docker run IMAGE test-and-build`). Plain JavaScript on purpose: it must
// start before any TypeScript loader exists. It registers tsx for the child it starts, so
// the adopter configures nothing (no .npmrc, no NODE_OPTIONS). tsx is needed on every
// Node version: Node 20 cannot load TypeScript at all, and Node >= 22.18 refuses to strip
// types from files under node_modules, where an installed package lives.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const scriptsDir = path.join(root, 'scripts')
const scripts = fs
  .readdirSync(scriptsDir)
  .filter((f) => f.endsWith('.mts'))
  .map((f) => f.slice(0, -'.mts'.length))
  .sort()

const [name, ...args] = process.argv.slice(2)
if (name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(`Usage: ci-build-scripts <script> [flags]\n\nScripts: ${scripts.join(', ')}\n(ci-build-scripts <script> --help for each one's flags)\n`)
  process.exit(0)
}
if (!name || !scripts.includes(name)) {
  const what = name ? `unknown script ${JSON.stringify(name)}` : 'no script named'
  process.stderr.write(`Error: ${what}; usage: ci-build-scripts <script> [flags]; scripts: ${scripts.join(', ')}\n`)
  process.exit(2)
}

// Resolved from this file, so the package's own dependencies are found wherever npm put
// them (hoisted into the adopter's node_modules, or nested under this package).
const tsx = import.meta.resolve('tsx')
const zxCli = fileURLToPath(import.meta.resolve('zx/cli'))

// The same argv layout as `npx zx scripts/<name>.mts ...`: the scripts read their flags
// from process.argv.slice(3).
const child = spawn(process.execPath, ['--import', tsx, zxCli, path.join(scriptsDir, `${name}.mts`), ...args], {
  stdio: 'inherit',
})

// A signal meant for this process (`docker stop` signals PID 1 only; a CI runner may
// signal only its direct child) goes to the script, which cleans up and exits 130/143.
// Ctrl-C in a terminal reaches both: the scripts ignore a second interrupt.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  })
}
child.on('error', (error) => {
  process.stderr.write(`Error: could not start node: ${error.message}\n`)
  process.exitCode = 1
})
child.on('exit', (code, signal) => {
  // Exit as the script did: its code, or 128 + the signal that ended it, as a shell reports.
  const signals = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  process.exitCode = code ?? 128 + (signals[signal] ?? 1)
})
