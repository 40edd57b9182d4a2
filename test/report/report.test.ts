import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {Browser, Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {renderHtml, scriptSafeJson} from '../../src/output/html.js'
import {TraceBuilder} from '../../src/synth/builder.js'
import {demoTracePath} from '../../src/util/paths.js'
import {buildReportData} from '../../src/view/report.js'
import {launchChromium} from '../helpers/browser.js'
import {root} from '../helpers/cli.js'
import {jsonl, tempFile} from '../helpers/run.js'

const outDir = join(root, 'test-output')

async function writeReport(files: string[], name: string): Promise<string> {
  const html = renderHtml(await buildReportData({files}))
  const path = tempFile(name, html)
  return path
}

describe('HTML report (static)', () => {
  it('is one self-contained file: no external URL is loaded', async () => {
    const html = readFileSync(await writeReport([demoTracePath()], 'demo.html'), 'utf8')
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i)
    expect(html).toMatch(/<script type="application\/json" id="santrace-data">/)
    expect(html).toMatch(/id="finding-0"/)
    expect(html).toMatch(/id="socket-4120-0x2b8-1"/)
    expect(html).toMatch(/WSPConnect blocked 2\.4 s &gt; 1 s/)
  })

  it('escapes data for a <script> element', () => {
    expect(scriptSafeJson({a: '</script><script>x()</script>\u2028'})).not.toMatch(/<|>|\u2028/)
    expect(JSON.parse(scriptSafeJson({a: '</script>&'}))).toEqual({a: '</script>&'})
  })
})

describe('HTML report in headless Chromium', () => {
  let browser: Browser | undefined
  const errors: string[] = []

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  async function open(path: string, hash = ''): Promise<Page> {
    const page = await browser!.newPage({viewport: {width: 1400, height: 1000}})
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    await page.goto(pathToFileURL(path).href + hash)
    await page.waitForSelector('html[data-ready="1"]')
    return page
  }

  it('renders one lane per socket, filters by rule, opens deep links, shows details on hover', async () => {
    if (!browser) return
    const path = await writeReport([demoTracePath()], 'demo.html')
    const page = await open(path)
    const data = JSON.parse(await page.locator('#santrace-data').textContent() ?? '{}')
    // One lane per socket (plus the process-wide row).
    expect(await page.locator('text.lane-label').count()).toBe(data.lanes.length)
    expect(data.lanes.length).toBe(6)
    expect(await page.locator('path.fmark').count()).toBe(5)
    mkdirSync(outDir, {recursive: true})
    await page.screenshot({path: join(outDir, 'report.png')})

    // Filtering by rule hides the other findings, in the list and on the timeline.
    await page.selectOption('#f-rule', 'SAN013')
    expect(await page.locator('#finding-list > li:not([hidden])').count()).toBe(1)
    expect(await page.locator('#finding-list > li:not([hidden]) .rule').textContent()).toBe('SAN013')
    expect(await page.locator('#f-count').textContent()).toBe('1 of 5 shown')
    await expect.poll(() => page.locator('path.fmark').count()).toBe(1)
    await page.click('#f-clear')
    expect(await page.locator('#finding-list > li:not([hidden])').count()).toBe(5)

    // Hover over an operation bar shows its details.
    const bar = page.locator('rect.bar.k-connect').first()
    const box = (await bar.boundingBox())!
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await expect.poll(() => page.locator('#tooltip').isVisible()).toBe(true)
    expect(await page.locator('#tooltip').textContent()).toMatch(/WSPConnect[\s\S]*duration/)

    // Clicking a finding marker opens the finding.
    const marker = page.locator('path.fmark.error').first()
    const id = await marker.getAttribute('data-f')
    await marker.click()
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#finding-${id}`)
    await page.close()

    // A deep link opens the right finding and zooms the timeline to it.
    const target = data.findings.find((f: {rule: string}) => f.rule === 'SAN032')
    const linked = await open(path, `#finding-${target.id}`)
    const current = linked.locator('#finding-list > li.current')
    expect(await current.count()).toBe(1)
    expect(await current.getAttribute('id')).toBe(`finding-${target.id}`)
    expect(await current.locator('.rule').textContent()).toBe('SAN032')
    expect(await current.isVisible()).toBe(true)
    expect(await linked.locator('path.fmark.hit').getAttribute('data-f')).toBe(String(target.id))
    await linked.close()

    // A socket deep link.
    const sock = await open(path, '#socket-5230-0x1d0-1')
    expect(await sock.locator('#socket-5230-0x1d0-1').isVisible()).toBe(true)
    await sock.close()
    expect(errors).toEqual([])
  })

  it('executes nothing that a trace says, and shows it as text', async () => {
    if (!browser) return
    const evil = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'"</`
    const b = new TraceBuilder()
    b.socket(1, 1, '0x2a0', '0x3c4')
    b.callRet(1, 1, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50000'})
    b.callRet(1, 1, 'WSPConnect', {Socket: '0x2a0', Addr: evil, Note: `</script><script>window.__pwned=3</script>`}, 0)
    b.emit(1, 1, 'ConnState', {Socket: '0x2a0', Old: evil, New: 'CONNECTED', Reason: '"; window.__pwned=4; "'})
    const path = await writeReport([tempFile('evil<script>.jsonl', jsonl(b.events))], 'evil.html')
    const html = readFileSync(path, 'utf8')
    expect(html).not.toContain('<script>window.__pwned')
    const page = await open(path)
    expect(await page.evaluate(() => (window as unknown as {__pwned?: number}).__pwned)).toBeUndefined()
    expect(await page.locator('#finding-list').textContent()).toContain(evil)
    expect(await page.locator('header .files').textContent()).toContain('evil<script>.jsonl')
    // Opening the socket built from data by the script also escapes.
    await page.evaluate(() => (location.hash = '#socket-1-0x2a0-1'))
    expect(await page.evaluate(() => (window as unknown as {__pwned?: number}).__pwned)).toBeUndefined()
    await page.close()
    expect(errors).toEqual([])
  })
})

export {writeFileSync}
