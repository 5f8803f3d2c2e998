// Which credentials go to which registry: REGISTRY_USERNAME / REGISTRY_PASSWORD for the
// configured registry's host alone, else what `docker login` stored for that very host
// (the Docker config, credential helpers included), else none (anonymous). Every
// password found is registered as a secret at once, so no log line can print it.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { registerSecret } from '../core/log.mts'
import { DOCKER_HUB } from './image-ref.mts'

export interface Credentials {
  username: string
  password: string
  /**
   * The registry these are for (`ghcr.io`, `127.0.0.1:5000`): they are sent to its API
   * and to the token service its own challenge names, never to another host.
   */
  registry: string
}

/**
 * The registry host of a `registry` setting (`ghcr.io/acme` -> `ghcr.io`): the first
 * component when it is a host (has `.` or `:`, or is localhost), else Docker Hub.
 */
export function registryHost(setting: string): string {
  const first = setting.trim().split('/')[0]
  const host = first.includes('.') || first.includes(':') || first === 'localhost' ? first : DOCKER_HUB
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host
}

/** The keys `docker login` may have used for a registry in config.json. */
function configKeys(registry: string): string[] {
  if (registry === DOCKER_HUB) return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`]
}

/** Ask a credential helper (`docker-credential-<name> get`, host on stdin). Undefined if it has nothing. */
function fromHelper(helper: string, key: string, registry: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  try {
    const out = execFileSync(`docker-credential-${helper}`, ['get'], { input: key, env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 15_000 })
    const parsed = JSON.parse(out) as { Username?: string; Secret?: string }
    if (!parsed.Secret) return undefined
    registerSecret(parsed.Secret)
    return { username: parsed.Username ?? '', password: parsed.Secret, registry }
  } catch {
    return undefined // helper missing, or "credentials not found in native keychain"
  }
}

/** The Docker config directory: `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker')
}

/**
 * `REGISTRY_USERNAME` / `REGISTRY_PASSWORD` when both are set (the password registered
 * as a secret at once), for the configured registry (`configured`: the config's
 * `registry`, `REGISTRY`, `--registry`) and no other: undefined when none is configured.
 * The docker CLI does not know these: pass them to `withLogin`.
 */
export function envCredentials(env: NodeJS.ProcessEnv, configured: string | undefined): Credentials | undefined {
  if (!env.REGISTRY_USERNAME || !env.REGISTRY_PASSWORD || !configured) return undefined
  registerSecret(env.REGISTRY_PASSWORD)
  return { username: env.REGISTRY_USERNAME, password: env.REGISTRY_PASSWORD, registry: registryHost(configured) }
}

/**
 * Credentials for `registry` (a host): `REGISTRY_USERNAME` / `REGISTRY_PASSWORD` when
 * both are set and `registry` is the configured registry's host (a CI file naming another
 * host in front of the image never gets them), else the Docker config
 * (`credHelpers[host]`, then `auths[host].auth`, then `credsStore`: what `docker login`
 * stored for that very host). Undefined when there are none: callers then try
 * anonymously. Every password found is registered as a secret at once.
 */
export function registryCredentials(registry: string, env: NodeJS.ProcessEnv, configured: string | undefined): Credentials | undefined {
  const fromEnv = envCredentials(env, configured)
  if (fromEnv && fromEnv.registry === registry) return fromEnv
  let config: { auths?: Record<string, { auth?: string }>; credsStore?: string; credHelpers?: Record<string, string> }
  try {
    config = JSON.parse(fs.readFileSync(path.join(dockerConfigDir(env), 'config.json'), 'utf8'))
  } catch {
    return undefined
  }
  for (const key of configKeys(registry)) {
    const helper = config.credHelpers?.[key]
    if (helper) return fromHelper(helper, key, registry, env)
  }
  for (const key of configKeys(registry)) {
    const auth = config.auths?.[key]?.auth
    if (auth) {
      const decoded = Buffer.from(auth, 'base64').toString('utf8')
      const sep = decoded.indexOf(':')
      if (sep < 0) continue
      const password = decoded.slice(sep + 1)
      registerSecret(password)
      registerSecret(auth)
      return { username: decoded.slice(0, sep), password, registry }
    }
  }
  if (config.credsStore) {
    for (const key of configKeys(registry)) {
      const found = fromHelper(config.credsStore, key, registry, env)
      if (found) return found
    }
  }
  return undefined
}

