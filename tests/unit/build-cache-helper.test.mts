import { describe, expect, it } from 'vitest'
import { layerDownloaded } from '../helpers/build-cache.mts'

// The tests that prove a layer came from a registry read BuildKit's plain output; each
// image store prints the download in its own form.
const CLASSIC = `#6 [1/3] FROM docker.io/library/busybox:latest
#6 DONE 0.1s

#7 [2/3] RUN echo marker-1 > /marker
#7 pulling sha256:c032943195db85f4f767d144f87e15953582a912fb5644dc94088f8005226cb3 232B / 232B 0.1s done
#7 CACHED

#8 [3/3] COPY tools /opt/tools
#8 DONE 0.1s
`
const STORE = `#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 CACHED

#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 sha256:c032943195db85f4f767d144f87e15953582a912fb5644dc94088f8005226cb3 232B / 232B 0.1s done

#8 [3/3] COPY tools /opt/tools
`
// The same, with the download's progress before its end (a slower registry).
const STORE_SLOW = `#8 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#8 CACHED

#8 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#8 sha256:f404e29814a459aaf8bd4924094ad47ea120cd70aa3c410cd834a45b5311dfe7 231B / 231B 0.2s
#8 sha256:f404e29814a459aaf8bd4924094ad47ea120cd70aa3c410cd834a45b5311dfe7 231B / 231B 0.2s done
#8 extracting sha256:f404e29814a459aaf8bd4924094ad47ea120cd70aa3c410cd834a45b5311dfe7 0.3s done
`
// A download that took no measurable time: no time before `done`.
const STORE_QUICK = `#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 CACHED

#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 sha256:d49b41ee899f8721160efdf4991aaf596fdb8b2a68ffe9629be255e748ae070b 229B / 229B done
#7 extracting sha256:d49b41ee899f8721160efdf4991aaf596fdb8b2a68ffe9629be255e748ae070b done
`
// The containerd store, the download printed first and no CACHED line at all.
const STORE_NO_CACHED = `#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 sha256:898d31270d3893b01325afb75ae60076d5a7c81a07fc444353fe98e6ee5dbce2 232B / 232B 0.0s done

#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 extracting sha256:898d31270d3893b01325afb75ae60076d5a7c81a07fc444353fe98e6ee5dbce2 0.0s done
`
// The step ran: its own output and DONE, no download.
const RAN = `#7 [2/3] RUN echo marker-1 > /marker && cat /proc/sys/kernel/random/uuid > /stamp
#7 DONE 0.4s

#8 [3/3] COPY tools /opt/tools
#8 DONE 0.1s

#9 exporting to image
#9 exporting layers 0.1s done
#9 exporting manifest sha256:c07b5bcce53f290e93de8cfa4e0ef6fea46e2fcbe28a28e47eaf74c2d1de81e3 0.0s done
`
// The layer was in the daemon already: CACHED, nothing downloaded.
const LOCAL = `#7 [2/3] RUN echo marker-1 > /marker
#7 CACHED

#8 [3/3] COPY tools /opt/tools
#8 DONE 0.1s
`

describe('layerDownloaded', () => {
  it('reads a download under either image store, for the named step or any', () => {
    expect(layerDownloaded(CLASSIC, '[2/3] RUN echo marker-1')).toBe(true)
    expect(layerDownloaded(STORE, '[2/3] RUN echo marker-1')).toBe(true)
    expect(layerDownloaded(STORE)).toBe(true)
    expect(layerDownloaded(STORE_SLOW, '[2/3] RUN echo marker-1')).toBe(true)
    expect(layerDownloaded(STORE_QUICK, '[2/3] RUN echo marker-1')).toBe(true)
    expect(layerDownloaded(STORE_NO_CACHED, '[2/3] RUN echo marker-1')).toBe(true)
    expect(layerDownloaded(CLASSIC)).toBe(true)
  })

  it('no download: a step cached from the daemon\'s own copy, or another step named', () => {
    expect(layerDownloaded(LOCAL, '[2/3] RUN echo marker-1')).toBe(false)
    expect(layerDownloaded(LOCAL)).toBe(false)
    expect(layerDownloaded(RAN, '[2/3] RUN echo marker-1')).toBe(false)
    expect(layerDownloaded(RAN)).toBe(false)
    expect(layerDownloaded(CLASSIC, '[3/3] COPY tools')).toBe(false)
    expect(layerDownloaded(STORE, '[3/3] COPY tools')).toBe(false)
    expect(layerDownloaded(STORE, '[2/3] RUN echo marker-2')).toBe(false)
  })
})
