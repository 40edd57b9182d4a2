/** Headless Chromium (Debian's package) driven by playwright-core, for the HTML report tests. */
import {existsSync} from 'node:fs'
import type {Browser} from 'playwright-core'

export const CHROMIUM = process.env.SANTRACE_CHROMIUM ?? '/usr/bin/chromium'

/** Undefined (after saying so) when no Chromium is installed; under CI=true that is a failure. */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    const msg = `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set SANTRACE_CHROMIUM)`
    if (process.env.CI === 'true') throw new Error(`${msg}; required under CI=true`)
    console.warn(`skipping browser tests: ${msg}`)
    return undefined
  }
  const {chromium} = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}
