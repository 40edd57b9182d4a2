/**
 * MS-XCA decompressors used by compressed ETL buffers (etl-format.md §3):
 *  - "Plain LZ77" (COMPRESSION_FORMAT_XPRESS = 3): what every compressed corpus file uses;
 *  - "LZ77+Huffman" (COMPRESSION_FORMAT_XPRESS_HUFF = 4);
 *  - LZNT1 (COMPRESSION_FORMAT_LZNT1 = 2).
 * Written from the MS-XCA algorithm descriptions. Every decoder writes into an output array of
 * the caller's declared size (never grows it) and reports how much it produced and consumed,
 * so a lying size field can neither overrun nor make us allocate more than was declared.
 * Plus a plain-LZ77 compressor for the ETL writer.
 */

export interface DecompressResult {
  out: Uint8Array
  /** Bytes written to `out` (== out.length on success). */
  produced: number
  /** Compressed bytes consumed. */
  consumed: number
  /** Set when the stream is invalid or ends before `out` is full. */
  error?: string
}

export const COMPRESSION_FORMAT_LZNT1 = 2
export const COMPRESSION_FORMAT_XPRESS = 3
export const COMPRESSION_FORMAT_XPRESS_HUFF = 4

/** MS-XCA §2.4 Plain LZ77 decompression. */
export function decompressXpress(src: Uint8Array, outLen: number): DecompressResult {
  // 8 bytes of slack let matches be copied 4 bytes at a time (overshoot is overwritten later).
  const buf = new Uint8Array(outLen + 8)
  const out = buf.subarray(0, outLen)
  const dv = new DataView(buf.buffer)
  const n = src.length
  let ip = 0
  let op = 0
  let flags = 0
  let flagCount = 0
  let lastHalf = -1
  while (op < outLen) {
    if (flagCount === 0) {
      if (ip + 4 > n) return {out, produced: op, consumed: ip, error: `compressed stream ends at ${ip} inside a flag word`}
      flags = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0
      ip += 4
      flagCount = 32
    }
    flagCount--
    if (((flags >>> flagCount) & 1) === 0) {
      if (ip >= n) return {out, produced: op, consumed: ip, error: `compressed stream ends at ${ip} before a literal`}
      buf[op++] = src[ip++]
      continue
    }
    if (ip + 2 > n) return {out, produced: op, consumed: ip, error: `compressed stream ends at ${ip} inside a match`}
    const m = src[ip] | (src[ip + 1] << 8)
    ip += 2
    const off = (m >>> 3) + 1
    let len = m & 7
    if (len === 7) {
      if (lastHalf < 0) {
        if (ip >= n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
        len = src[ip] & 0x0f
        lastHalf = ip
        ip += 1
      } else {
        len = src[lastHalf] >>> 4
        lastHalf = -1
      }
      if (len === 15) {
        if (ip >= n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
        len = src[ip++]
        if (len === 255) {
          if (ip + 2 > n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
          len = src[ip] | (src[ip + 1] << 8)
          ip += 2
          if (len === 0) {
            if (ip + 4 > n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
            len = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0
            ip += 4
          }
          if (len < 15 + 7) return {out, produced: op, consumed: ip, error: `invalid match length ${len} at ${ip}`}
          len -= 15 + 7
        }
        len += 15
      }
      len += 7
    }
    len += 3
    if (off > op) return {out, produced: op, consumed: ip, error: `match offset ${off} before start of output (at output ${op})`}
    let bad = false
    if (op + len > outLen) {
      len = outLen - op
      bad = true
    }
    let s = op - off
    const end = op + len
    if (off >= 4) {
      while (op < end) {
        dv.setUint32(op, dv.getUint32(s, true), true)
        op += 4
        s += 4
      }
      op = end
    } else while (op < end) buf[op++] = buf[s++]
    if (bad) return {out, produced: outLen, consumed: ip, error: `a match runs past the declared size ${outLen}`}
  }
  return {out, produced: op, consumed: ip}
}

function copyMatch(out: Uint8Array, op: number, off: number, len: number): void {
  let s = op - off
  if (off >= len && len >= 64) {
    out.copyWithin(op, s, s + len)
    return
  }
  const end = op + len
  while (op < end) out[op++] = out[s++]
}

/** Decoding table for one LZ77+Huffman block: entry = symbol | (length << 9); 0 = unused. */
function buildHuffTable(src: Uint8Array, base: number, table: Uint16Array): string | undefined {
  table.fill(0)
  let pos = 0
  let any = false
  for (let len = 1; len <= 15; len++) {
    for (let sym = 0; sym < 512; sym++) {
      const byte = src[base + (sym >>> 1)]
      const l = sym & 1 ? byte >>> 4 : byte & 0x0f
      if (l !== len) continue
      const count = 1 << (15 - len)
      if (pos + count > 32768) return 'over-subscribed Huffman code lengths'
      table.fill(sym | (len << 9), pos, pos + count)
      pos += count
      any = true
    }
  }
  if (!any) return 'empty Huffman table'
  return undefined
}

/** MS-XCA §2.2 LZ77+Huffman decompression. */
export function decompressXpressHuffman(src: Uint8Array, outLen: number): DecompressResult {
  const out = new Uint8Array(outLen)
  const table = new Uint16Array(32768)
  const n = src.length
  let ip = 0
  let op = 0
  const rd16 = (p: number): number => (p + 1 < n ? src[p] | (src[p + 1] << 8) : p < n ? src[p] : 0)
  while (op < outLen) {
    if (ip + 256 > n) return {out, produced: op, consumed: ip, error: `compressed stream ends at ${ip} inside a Huffman table`}
    const err = buildHuffTable(src, ip, table)
    if (err) return {out, produced: op, consumed: ip, error: `${err} (table at ${ip})`}
    ip += 256
    let bits = ((rd16(ip) << 16) | rd16(ip + 2)) >>> 0
    ip += 4
    let extra = 16
    const blockEnd = Math.min(op + 65536, outLen)
    while (op < blockEnd) {
      const e = table[bits >>> 17]
      if (e === 0) return {out, produced: op, consumed: ip, error: `invalid Huffman code at input ${ip}`}
      const sl = e >>> 9
      let sym = e & 511
      bits = (bits << sl) >>> 0
      extra -= sl
      if (extra < 0) {
        if (ip > n) return {out, produced: op, consumed: ip, error: 'compressed stream ends inside the bit stream'}
        bits = (bits | (rd16(ip) << -extra)) >>> 0
        ip += 2
        extra += 16
      }
      if (sym < 256) {
        out[op++] = sym
        continue
      }
      sym -= 256
      let len = sym & 15
      const obits = sym >>> 4
      if (len === 15) {
        if (ip >= n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
        len = src[ip++]
        if (len === 255) {
          if (ip + 2 > n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
          len = src[ip] | (src[ip + 1] << 8)
          ip += 2
          if (len === 0) {
            if (ip + 4 > n) return {out, produced: op, consumed: ip, error: 'truncated match length'}
            len = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0
            ip += 4
          }
          if (len < 15) return {out, produced: op, consumed: ip, error: `invalid match length ${len}`}
          len -= 15
        }
        len += 15
      }
      len += 3
      let off = obits === 0 ? 0 : bits >>> (32 - obits)
      off += 1 << obits
      bits = obits === 0 ? bits : (bits << obits) >>> 0
      extra -= obits
      if (extra < 0) {
        if (ip > n) return {out, produced: op, consumed: ip, error: 'compressed stream ends inside the bit stream'}
        bits = (bits | (rd16(ip) << -extra)) >>> 0
        ip += 2
        extra += 16
      }
      if (off > op) return {out, produced: op, consumed: ip, error: `match offset ${off} before start of output (at output ${op})`}
      if (op + len > outLen) {
        copyMatch(out, op, off, outLen - op)
        return {out, produced: outLen, consumed: Math.min(ip, n), error: `match of ${len} bytes runs past the declared size ${outLen}`}
      }
      copyMatch(out, op, off, len)
      op += len
    }
  }
  return {out, produced: op, consumed: Math.min(ip, n)}
}

/** LZNT1 (MS-XCA §2.5): 4 KiB chunks with a u16 header (size-3 | compressed<<15 | 0x3000). */
export function decompressLznt1(src: Uint8Array, outLen: number): DecompressResult {
  const out = new Uint8Array(outLen)
  const n = src.length
  let ip = 0
  let op = 0
  while (op < outLen && ip + 2 <= n) {
    const hdr = src[ip] | (src[ip + 1] << 8)
    if (hdr === 0) break
    const size = (hdr & 0x0fff) + 1
    const compressed = (hdr & 0x8000) !== 0
    ip += 2
    const end = Math.min(ip + size, n)
    if (!compressed) {
      const take = Math.min(end - ip, outLen - op)
      out.set(src.subarray(ip, ip + take), op)
      op += take
      ip = end
      continue
    }
    const chunkStart = op
    while (ip < end && op < outLen) {
      const flags = src[ip++]
      for (let bit = 0; bit < 8 && ip < end && op < outLen; bit++) {
        if ((flags & (1 << bit)) === 0) {
          out[op++] = src[ip++]
          continue
        }
        if (ip + 2 > end) return {out, produced: op, consumed: ip, error: 'truncated LZNT1 match'}
        const t = src[ip] | (src[ip + 1] << 8)
        ip += 2
        let shift = 12
        for (let p = op - chunkStart - 1; p >= 0x10; p >>= 1) shift--
        const off = (t >>> shift) + 1
        let len = (t & ((1 << shift) - 1)) + 3
        if (off > op - chunkStart) return {out, produced: op, consumed: ip, error: 'LZNT1 match before chunk start'}
        if (op + len > outLen) len = outLen - op
        copyMatch(out, op, off, len)
        op += len
      }
    }
    ip = end
  }
  if (op < outLen) return {out, produced: op, consumed: ip, error: `LZNT1 stream produced ${op} of ${outLen} bytes`}
  return {out, produced: op, consumed: ip}
}

export function decompress(format: number, src: Uint8Array, outLen: number): DecompressResult {
  switch (format) {
    case COMPRESSION_FORMAT_XPRESS_HUFF:
      return decompressXpressHuffman(src, outLen)
    case COMPRESSION_FORMAT_LZNT1:
      return decompressLznt1(src, outLen)
    default:
      return decompressXpress(src, outLen)
  }
}

/**
 * MS-XCA §2.3 Plain LZ77 compression (greedy, hash-chained, window 8 KiB). Output decodes with
 * {@link decompressXpress}; it need not match Windows' bytes.
 */
export function compressXpress(input: Uint8Array): Uint8Array {
  const n = input.length
  const out = new Uint8Array(n + Math.ceil(n / 32) * 4 + 16 + Math.ceil(n / 8))
  let op = 0
  let flagPos = 0
  let flags = 0
  let flagCount = 0
  let halfPos = -1
  op = 4
  const HASH = 1 << 14
  const head = new Int32Array(HASH).fill(-1)
  const prev = new Int32Array(n)
  const hash = (p: number): number => ((input[p] << 10) ^ (input[p + 1] << 5) ^ input[p + 2]) & (HASH - 1)
  const pushFlag = (bit: number): void => {
    flags = (flags << 1) | bit
    flagCount++
    if (flagCount === 32) {
      out[flagPos] = flags & 0xff
      out[flagPos + 1] = (flags >>> 8) & 0xff
      out[flagPos + 2] = (flags >>> 16) & 0xff
      out[flagPos + 3] = (flags >>> 24) & 0xff
      flagPos = op
      op += 4
      flags = 0
      flagCount = 0
    }
  }
  const insert = (p: number): void => {
    if (p + 2 < n) {
      const h = hash(p)
      prev[p] = head[h]
      head[h] = p
    }
  }
  let ip = 0
  while (ip < n) {
    let bestLen = 0
    let bestOff = 0
    if (ip + 2 < n) {
      let cand = head[hash(ip)]
      let chain = 32
      while (cand >= 0 && ip - cand <= 8192 && chain-- > 0) {
        let l = 0
        const max = n - ip
        while (l < max && input[cand + l] === input[ip + l]) l++
        if (l > bestLen) {
          bestLen = l
          bestOff = ip - cand
          if (l >= 4096) break
        }
        cand = prev[cand]
      }
    }
    if (bestLen >= 3) {
      const m = bestLen - 3
      const offBits = (bestOff - 1) << 3
      if (m < 7) {
        out[op++] = (offBits | m) & 0xff
        out[op++] = (offBits | m) >>> 8
      } else {
        out[op++] = (offBits | 7) & 0xff
        out[op++] = (offBits | 7) >>> 8
        const r = m - 7
        const nib = Math.min(r, 15)
        if (halfPos < 0) {
          out[op] = nib
          halfPos = op++
        } else {
          out[halfPos] |= nib << 4
          halfPos = -1
        }
        if (r >= 15) {
          const r2 = r - 15
          if (r2 < 255) out[op++] = r2
          else {
            out[op++] = 255
            const full = m // the u16/u32 value is (length - 3)
            if (full <= 0xffff) {
              out[op++] = full & 0xff
              out[op++] = full >>> 8
            } else {
              out[op++] = 0
              out[op++] = 0
              out[op++] = full & 0xff
              out[op++] = (full >>> 8) & 0xff
              out[op++] = (full >>> 16) & 0xff
              out[op++] = full >>> 24
            }
          }
        }
      }
      pushFlag(1)
      for (let k = 0; k < bestLen; k++) insert(ip + k)
      ip += bestLen
    } else {
      out[op++] = input[ip]
      pushFlag(0)
      insert(ip)
      ip++
    }
  }
  // Terminate: pad remaining flag bits with 1s (MS-XCA sets unused flag bits to 1).
  const rest = 32 - flagCount
  flags = rest === 32 ? 0xffffffff : ((flags << rest) | ((1 << rest) - 1)) >>> 0
  out[flagPos] = flags & 0xff
  out[flagPos + 1] = (flags >>> 8) & 0xff
  out[flagPos + 2] = (flags >>> 16) & 0xff
  out[flagPos + 3] = (flags >>> 24) & 0xff
  return out.slice(0, op)
}
