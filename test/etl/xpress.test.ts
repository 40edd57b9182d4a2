/** MS-XCA decompressors: known vectors, round trips, bounded output on bad input. */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {compressXpress, decompressLznt1, decompressXpress, decompressXpressHuffman} from '../../src/etl/index.js'

// Known-answer vectors ("abc" × 100) as published in fox-it/dissect.util's test suite (data only).
const HUFF_ABC = Buffer.from(
  '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000030230000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0200000000000000000000000000002000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    'a8dc0000ff2601',
  'hex',
)
const PLAIN_ABC = Buffer.from('ffffff1f6162631700 0fff2601'.replace(/ /g, ''), 'hex')
const LZNT1_VECTOR = Buffer.from(
  '38b08846232000204720410010a24701a045204400084501507900c045200524' + '138805b4024a44ef0358028c091601484500be009e000401189000',
  'hex',
)
const LZNT1_TEXT =
  'F# F# G A A G F# E D D E F# F# E E F# F# G A A ' + 'G F# E D D E F# E D D E E F# D E F# G F# D E F# ' + 'G F# E D E A F# F# G A A G F# E D D E F# E D D\0'

/**
 * Test-only LZ77+Huffman encoder with a fixed code (all 512 symbols 9 bits long, a complete
 * canonical code where code == symbol). It reproduces the decoder's interleaving of 16-bit bit
 * words and extra length bytes, so it exercises the bit reader, offsets, length escapes and blocks.
 */
function huffEncode(input: Uint8Array): Uint8Array {
  const out: number[] = []
  let pos = 0
  while (pos < input.length) {
    const blockStart = pos
    for (let i = 0; i < 256; i++) out.push(0x99)
    const slots: number[] = []
    const bits: number[] = []
    let consumed = 0
    const reserve = (): void => {
      slots.push(out.length)
      out.push(0, 0)
    }
    reserve()
    reserve()
    const emit = (v: number, nb: number): void => {
      for (let i = nb - 1; i >= 0; i--) bits.push((v >>> i) & 1)
      consumed += nb
      while (consumed > 16 * (slots.length - 1)) reserve()
    }
    const blockEnd = blockStart + 65536
    while (pos < blockEnd && pos < input.length) {
      let bestLen = 0
      let bestOff = 0
      for (let off = 1; off <= Math.min(pos, 300); off++) {
        let l = 0
        while (pos + l < input.length && input[pos + l - off] === input[pos + l] && l < 70000) l++
        if (l > bestLen) {
          bestLen = l
          bestOff = off
        }
      }
      if (bestLen < 3) {
        emit(input[pos++], 9)
        continue
      }
      const L = bestLen - 3
      const obits = 31 - Math.clz32(bestOff)
      emit(256 + Math.min(L, 15) + 16 * obits, 9)
      if (L >= 15) {
        if (bestLen - 18 < 255) out.push(bestLen - 18)
        else if (L <= 0xffff) out.push(255, L & 0xff, L >>> 8)
        else out.push(255, 0, 0, L & 0xff, (L >>> 8) & 0xff, (L >>> 16) & 0xff, L >>> 24)
      }
      if (obits > 0) emit(bestOff - (1 << obits), obits)
      pos += bestLen
    }
    for (let w = 0; w < slots.length; w++) {
      let v = 0
      for (let i = 0; i < 16; i++) v = (v << 1) | (bits[w * 16 + i] ?? 0)
      out[slots[w]] = v & 0xff
      out[slots[w] + 1] = v >>> 8
    }
  }
  return Uint8Array.from(out)
}

function sample(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    // Mostly repetitive text with noise: gives short and long matches, literals.
    b[i] = i % 1000 < 700 ? 'ETW record header '.charCodeAt(i % 18) : (x >>> 24) & 0x3f
  }
  return b
}

describe('XPRESS (plain LZ77, MS-XCA §2.4)', () => {
  it('decodes the published vector', () => {
    const r = decompressXpress(PLAIN_ABC, 300)
    expect(r.error).toBeUndefined()
    expect(Buffer.from(r.out).toString()).toBe('abc'.repeat(100))
    expect(r.consumed).toBe(PLAIN_ABC.length)
  })
  it('round-trips our compressor (incl. long matches with 16/32-bit lengths)', () => {
    for (const input of [sample(70000, 1), new Uint8Array(100000).fill(7), Uint8Array.from(Buffer.from('x')), new Uint8Array(0), sample(5000, 9)]) {
      const c = compressXpress(input)
      const r = decompressXpress(c, input.length)
      expect(r.error).toBeUndefined()
      expect(Buffer.compare(Buffer.from(r.out), Buffer.from(input))).toBe(0)
    }
  })
  it('property: round trip of arbitrary data', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 3000}), fc.integer({min: 1, max: 8}), (a, rep) => {
        const input = new Uint8Array(a.length * rep)
        for (let i = 0; i < rep; i++) input.set(a, i * a.length)
        const r = decompressXpress(compressXpress(input), input.length)
        expect(r.error).toBeUndefined()
        expect(Buffer.compare(Buffer.from(r.out), Buffer.from(input))).toBe(0)
      }),
      {numRuns: 60},
    )
  })
  it('bad input: bounded output, error, no throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 200}), fc.integer({min: 0, max: 5000}), (src, n) => {
        const r = decompressXpress(src, n)
        expect(r.out.length).toBe(n)
        expect(r.produced).toBeLessThanOrEqual(n)
        if (r.produced < n) expect(r.error).toBeDefined()
      }),
      {numRuns: 300},
    )
    expect(decompressXpress(Buffer.from('00000080' + '0800', 'hex'), 10).error).toMatch(/before start of output/)
    expect(decompressXpress(PLAIN_ABC, 400).error).toBeDefined() // stream shorter than declared
  })
})

describe('XPRESS Huffman (LZ77+Huffman, MS-XCA §2.2)', () => {
  it('decodes the published vector', () => {
    const r = decompressXpressHuffman(HUFF_ABC, 300)
    expect(r.error).toBeUndefined()
    expect(Buffer.from(r.out).toString()).toBe('abc'.repeat(100))
  })
  it('round-trips a test encoder: several 64 KiB blocks, long matches, all offset widths', () => {
    const input = new Uint8Array(200000)
    input.set(sample(90000, 3), 0)
    input.fill(0x41, 90000, 160000) // a 70000-byte run: u32 length escape and block crossing
    input.set(sample(40000, 5), 160000)
    const c = huffEncode(input)
    const r = decompressXpressHuffman(c, input.length)
    expect(r.error).toBeUndefined()
    expect(Buffer.compare(Buffer.from(r.out), Buffer.from(input))).toBe(0)
  })
  it('bad input: bounded output, error, no throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 0, maxLength: 400}), fc.integer({min: 0, max: 70000}), (src, n) => {
        const r = decompressXpressHuffman(src, n)
        expect(r.out.length).toBe(n)
        if (r.produced < n) expect(r.error).toBeDefined()
      }),
      {numRuns: 200},
    )
    const overfull = new Uint8Array(300).fill(0x11) // 512 symbols of length 1: over-subscribed
    expect(decompressXpressHuffman(overfull, 10).error).toMatch(/over-subscribed/)
    expect(decompressXpressHuffman(new Uint8Array(300), 10).error).toMatch(/empty Huffman table/)
  })
})

describe('LZNT1 (MS-XCA §2.5)', () => {
  it('decodes the published vector', () => {
    const r = decompressLznt1(LZNT1_VECTOR, LZNT1_TEXT.length)
    expect(r.error).toBeUndefined()
    expect(Buffer.from(r.out).toString('latin1')).toBe(LZNT1_TEXT)
  })
})
