// lib/core/ci-runner.mts: the CI runner's I/O (workflow commands, step outputs, the step
// summary, the run's log link).
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  appendStepSummary,
  ciLogUrl,
  endGroupCommand,
  errorCommand,
  groupCommand,
  maskCommand,
  onGitHubActions,
  setActionsOutputs,
  warningCommand,
} from '../../lib/core/ci-runner.mts'
import { tempDir } from '../helpers/repo.mts'

describe('setActionsOutputs', () => {
  it('appends name=value lines to $GITHUB_OUTPUT, multi-line values with a delimiter', async () => {
    const file = path.join(tempDir(), 'output')
    fs.writeFileSync(file, 'earlier=1\n')
    await setActionsOutputs({ numbers: '[1,2]', text: 'a\nb' }, { GITHUB_OUTPUT: file })
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toMatch(/^earlier=1\nnumbers=\[1,2\]\ntext<<(ghadelimiter_[0-9a-f-]{36})\na\nb\n\1\n$/)
  })

  it('the delimiter is a random UUID, new each time, so a value cannot guess it and forge an output', async () => {
    const file = path.join(tempDir(), 'output')
    fs.writeFileSync(file, '')
    await setActionsOutputs({ a: 'x\ny' }, { GITHUB_OUTPUT: file })
    await setActionsOutputs({ a: 'x\ny' }, { GITHUB_OUTPUT: file })
    const delimiters = [...fs.readFileSync(file, 'utf8').matchAll(/^a<<(.*)$/gm)].map((m) => m[1])
    expect(delimiters).toHaveLength(2)
    for (const d of delimiters) expect(d).toMatch(/^ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(delimiters[0]).not.toBe(delimiters[1])
  })

  it('does nothing outside GitHub Actions', async () => {
    await expect(setActionsOutputs({ a: 'b' }, {})).resolves.toBeUndefined()
  })
})

describe('workflow commands', () => {
  it('only GITHUB_ACTIONS=true is GitHub Actions', () => {
    expect(onGitHubActions({ GITHUB_ACTIONS: 'true' })).toBe(true)
    expect(onGitHubActions({ GITHUB_ACTIONS: '1' })).toBe(false)
    expect(onGitHubActions({})).toBe(false)
  })

  it('mask, warning and groups are the documented lines', () => {
    expect(maskCommand('s3cret')).toBe('::add-mask::s3cret')
    expect(warningCommand('careful')).toBe('::warning::careful')
    expect(groupCommand('build')).toBe('::group::build')
    expect(endGroupCommand()).toBe('::endgroup::')
  })

  it('an error annotation escapes its title and message, so neither ends the command early', () => {
    expect(errorCommand('step: a, b', 'line 1\r\nline 2 at 100%')).toBe('::error title=step%3A a%2C b::line 1%0D%0Aline 2 at 100%25')
  })
})

describe('appendStepSummary', () => {
  it('appends the markdown and a newline to $GITHUB_STEP_SUMMARY', () => {
    const file = path.join(tempDir(), 'summary')
    fs.writeFileSync(file, '# before\n')
    appendStepSummary('| a |\n| --- |', { GITHUB_STEP_SUMMARY: file })
    expect(fs.readFileSync(file, 'utf8')).toBe('# before\n| a |\n| --- |\n')
  })

  it('does nothing without a summary file', () => {
    expect(() => appendStepSummary('x', {})).not.toThrow()
  })
})

describe('ciLogUrl', () => {
  it("GitHub Actions' run page, else CircleCI's build URL, else none", () => {
    const actions = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '42', CIRCLE_BUILD_URL: 'https://circleci.com/b/1' }
    expect(ciLogUrl(actions)).toBe('https://github.com/acme/app/actions/runs/42')
    expect(ciLogUrl({ ...actions, GITHUB_RUN_ID: undefined })).toBe('https://circleci.com/b/1')
    expect(ciLogUrl({ CIRCLE_BUILD_URL: '' })).toBeUndefined()
  })
})
