import { describe, expect, it } from 'vitest'
import { isAuthFailure } from '../../lib/image/docker.mts'

describe('isAuthFailure: a docker error line that is a refusal for credentials', () => {
  it('is a refusal: denied, unauthorized, 403 Forbidden (with the URL quoted)', () => {
    expect(isAuthFailure('denied: requested access to the resource is denied')).toBe(true)
    expect(isAuthFailure('unauthorized: authentication required')).toBe(true)
    expect(isAuthFailure('unexpected status from HEAD request to https://r.example/v2/app/blobs/sha256:ab: 403 Forbidden')).toBe(true)
  })

  it('is not: a network failure whose quoted upload URL holds "403" (the containerd image store quotes it)', () => {
    const line =
      'failed commit on ref "layer-sha256:bc91": failed to do request: Put "http://127.0.0.1:34667/v2/app/blobs/uploads/c46c3216-b4b3-403e-b02c-53b2d88f87a0?_state=aMVC&digest=sha256%3Abc91": EOF'
    expect(isAuthFailure(line)).toBe(false)
    expect(isAuthFailure('Put "http://127.0.0.1:5000/v2/app/blobs/uploads/x/403/y": connection reset by peer')).toBe(false)
  })
})
