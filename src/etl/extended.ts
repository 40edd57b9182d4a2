/** Decoding of extended data items (etl-format.md §5.2), on demand. */
import {formatGuid} from './guid.js'
import {formatSid} from './tracelogging.js'
import type {EtlExtendedItem} from './types.js'

export type DecodedExtendedItem =
  | {type: 1; name: 'RelatedActivityId'; guid: string}
  | {type: 2; name: 'Sid'; sid: string}
  | {type: 3; name: 'TsId'; sessionId: number}
  | {type: 4; name: 'InstanceInfo'; instanceId: number; parentInstanceId: number; parentGuid: string}
  | {type: 5 | 6; name: 'StackTrace'; matchId: bigint; addresses: bigint[]}
  | {type: 7 | 9 | 10 | 13 | 15; name: string; value: bigint}
  | {type: 8; name: 'PmcCounters'; counters: bigint[]}
  | {type: 11; name: 'EventSchemaTl'; bytes: Uint8Array}
  | {type: 12; name: 'ProvTraits'; bytes: Uint8Array}
  | {type: 14 | 16; name: string; guid: string}
  | {type: 17 | 18; name: 'StackKey'; matchId: bigint; stackKey: bigint}
  | {type: number; name: 'Unknown'; bytes: Uint8Array}

const U64_NAMES: Record<number, string> = {7: 'PebsIndex', 9: 'PsmKey', 10: 'EventKey', 13: 'ProcessStartKey', 15: 'QpcDelta'}

export function decodeExtendedItem(item: EtlExtendedItem): DecodedExtendedItem {
  const d = item.data
  const dv = new DataView(d.buffer, d.byteOffset, d.length)
  const t = item.type
  const unknown = (): DecodedExtendedItem => ({type: t, name: 'Unknown', bytes: d})
  switch (t) {
    case 1:
      return d.length >= 16 ? {type: 1, name: 'RelatedActivityId', guid: formatGuid(d, 0)} : unknown()
    case 2:
      return d.length >= 8 && d.length >= 8 + 4 * d[1] ? {type: 2, name: 'Sid', sid: formatSid(d, 0)} : unknown()
    case 3:
      return d.length >= 4 ? {type: 3, name: 'TsId', sessionId: dv.getUint32(0, true)} : unknown()
    case 4:
      return d.length >= 24
        ? {type: 4, name: 'InstanceInfo', instanceId: dv.getUint32(0, true), parentInstanceId: dv.getUint32(4, true), parentGuid: formatGuid(d, 8)}
        : unknown()
    case 5:
    case 6: {
      if (d.length < 8) return unknown()
      const w = t === 5 ? 4 : 8
      const addresses: bigint[] = []
      for (let p = 8; p + w <= d.length; p += w) addresses.push(w === 4 ? BigInt(dv.getUint32(p, true)) : dv.getBigUint64(p, true))
      return {type: t, name: 'StackTrace', matchId: dv.getBigUint64(0, true), addresses}
    }
    case 7:
    case 9:
    case 10:
    case 13:
    case 15:
      return d.length >= 8 ? {type: t, name: U64_NAMES[t], value: dv.getBigUint64(0, true)} : unknown()
    case 8: {
      const counters: bigint[] = []
      for (let p = 0; p + 8 <= d.length; p += 8) counters.push(dv.getBigUint64(p, true))
      return {type: 8, name: 'PmcCounters', counters}
    }
    case 11:
      return {type: 11, name: 'EventSchemaTl', bytes: d}
    case 12:
      return {type: 12, name: 'ProvTraits', bytes: d}
    case 14:
    case 16:
      return d.length >= 16 ? {type: t, name: t === 14 ? 'ControlGuid' : 'ContainerId', guid: formatGuid(d, 0)} : unknown()
    case 17:
      return d.length >= 12 ? {type: 17, name: 'StackKey', matchId: dv.getBigUint64(0, true), stackKey: BigInt(dv.getUint32(8, true))} : unknown()
    case 18:
      return d.length >= 16 ? {type: 18, name: 'StackKey', matchId: dv.getBigUint64(0, true), stackKey: dv.getBigUint64(8, true)} : unknown()
    default:
      return unknown()
  }
}
