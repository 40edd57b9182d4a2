/**
 * Benchmark inputs: the demo scenario (three processes, every kind of event, five
 * violations) repeated with fresh pids and later times until the requested size, streamed
 * to a JSON Lines file. Copies overlap in time (a new copy starts every 2 s), so the model
 * holds several copies' sockets at once, as a long capture of many processes does.
 */
import {createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {demoEvents} from './demo.js'

export async function generate(path: string, opts: {events: number; seed?: number}): Promise<{events: number}> {
  const demo = demoEvents()
  const span = demo[demo.length - 1].ts
  const stagger = 2_000_000_000
  const copiesAlive = Math.ceil(span / stagger) + 1
  const out = createWriteStream(path)
  let written = 0
  let copy = 0
  // Merge `copiesAlive` staggered copies at a time so the file stays in time order.
  const cursors: Array<{copy: number; i: number}> = []
  const next = (): {copy: number; i: number} => ({copy: copy++, i: 0})
  const ts = (c: {copy: number; i: number}): number => demo[c.i].ts + c.copy * stagger
  for (let k = 0; k < copiesAlive; k++) cursors.push(next())
  let chunk = ''
  const pidShift = (opts.seed ?? 1) * 1000
  while (written < opts.events) {
    let best = 0
    for (let k = 1; k < cursors.length; k++) if (ts(cursors[k]) < ts(cursors[best])) best = k
    const c = cursors[best]
    const e = demo[c.i]
    chunk += JSON.stringify({...e, ts: ts(c), pid: e.pid + pidShift + c.copy * 10}) + '\n'
    written++
    if (++c.i >= demo.length) cursors[best] = next()
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.write(chunk)
  out.end()
  await once(out, 'finish')
  return {events: written}
}
