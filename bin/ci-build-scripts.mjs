#!/usr/bin/env node
// ci-build-scripts <script> [flags]: run a script of this package on the repository of
// the current directory (the scripts find it from the cwd, never from their own
// location; the cwd is left as it is).
//
// Installed as a package (`npx ci-build-scripts test-and-build`), and the runtime image's
// entrypoint (`docker run IMAGE test-and-build`). It imports the script's JavaScript,
// dist/scripts/<script>.mjs, built from scripts/<script>.mts when the package is packed
// (`npm run build`, run by prepack): one Node process, no TypeScript loader. In this
// repository the scripts run from their sources instead: `npx zx scripts/<name>.mts`.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const scriptsDir = path.join(root, 'dist', 'scripts')
if (!fs.existsSync(scriptsDir)) {
  process.stderr.write(`Error: ${scriptsDir} is missing: this checkout of ci-build-scripts is not built (run npm run build), or use npx zx scripts/<name>.mts\n`)
  process.exit(1)
}
const scripts = fs
  .readdirSync(scriptsDir)
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.slice(0, -'.mjs'.length))
  .sort()

const name = process.argv[2]
if (name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(`Usage: npx ci-build-scripts <script> [flags]\n\nScripts: ${scripts.join(', ')}\n(npx ci-build-scripts <script> --help for each one's flags)\n`)
  process.exit(0)
}
if (!name || !scripts.includes(name)) {
  const what = name ? `unknown script ${JSON.stringify(name)}` : 'no script named'
  process.stderr.write(`Error: ${what}; usage: npx ci-build-scripts <script> [flags]; scripts: ${scripts.join(', ')}\n`)
  process.exit(2)
}

// A signal with no handler of the script's ends the run as Node's default would (128 +
// its number), also as PID 1 of a container (`docker stop`), where the kernel drops a
// signal the process does not handle. While a script has undo steps registered
// (lib/core/interrupts.mts), its own handler runs them and exits 130/143.
for (const [signal, number] of [['SIGHUP', 1], ['SIGINT', 2], ['SIGTERM', 15]]) {
  process.on(signal, () => {
    if (process.listenerCount(signal) === 1) process.exit(128 + number)
  })
}

// process.argv is [node, this file, <script>, ...flags], the layout of
// `zx scripts/<script>.mts ...flags`: the scripts read their flags from process.argv.slice(3).
await import(pathToFileURL(path.join(scriptsDir, `${name}.mjs`)).href)
