/** Classic kernel event groups → provider GUID and name (etl-format.md §4.9). */

export const EVENT_TRACE_GROUP_GUID = '68fdd900-4a3e-11d1-84f4-0000f80464e3'
export const IMAGE_GROUP_GUID = '2cb15d1d-5fc1-11d2-abe1-00a0c911f518'

const GROUPS: Array<[string, string]> = [
  ['EventTrace', EVENT_TRACE_GROUP_GUID],
  ['DiskIo', '3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c'],
  ['PageFault', '3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c'],
  ['Process', '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c'],
  ['FileIo', '90cbdc39-4a3e-11d1-84f4-0000f80464e3'],
  ['Thread', '3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c'],
  ['TcpIp', '9a280ac0-c8e0-11d1-84e2-00c04fb998a2'],
  ['Job', '3282fc76-feed-498e-8aa7-e70f459d430e'],
  ['UdpIp', 'bf3a50c5-a9c9-4988-a005-2df0b7c80f80'],
  ['Registry', 'ae53722e-c863-11d2-8659-00c04fa321a1'],
  ['DbgPrint', '13976d09-a327-438c-950b-7f03192815c7'],
  ['SystemConfig', '01853a65-418f-4f36-aefc-dc0f1d2fd235'],
  ['Spare1', '99134383-5248-43fc-834b-529454e75df3'],
  ['Wnf', '42695762-ea50-497a-9068-5cbbb35e0b95'],
  ['Pool', '0268a8b6-74fd-4302-9dd0-6e8f1795c0cf'],
  ['PerfInfo', 'ce1dbfb4-137e-4da6-87b0-3f59aa102cbc'],
  ['Heap', '222962ab-6180-4b88-a825-346b75f2a24a'],
  ['Object', '89497f50-effe-4440-8cf2-ce6b1cdcaca7'],
  ['Power', 'e43445e0-0903-48c3-b878-ff0fccebdd04'],
  ['ModBound', 'a9152f00-3f58-4bee-92a1-70c7d079d5dd'],
  ['Image', IMAGE_GROUP_GUID],
  ['Dpc', 'b2d14872-7c5b-463d-8419-ee9bf7d23e04'],
  ['CC', '7687a439-f752-45b8-b741-321aec0f8df9'],
  ['CritSec', '3ac66736-cc59-4cff-8115-8df50e39816b'],
  ['StackWalk', 'def2fe46-7bd6-4b80-bd94-f57fe20d0ce3'],
  ['UMS', '9aec974b-5b8e-4118-9b92-3186d8002ce5'],
  ['ALPC', '45d8cccd-539f-4b72-a8b7-5c683142609a'],
  ['SplitIo', 'd837ca92-12b9-44a5-ad6a-3a65b3578aa8'],
  ['ThreadPool', 'c861d0e2-a2c1-4d36-9f9c-970bab943a12'],
  ['Hypervisor', '7f2a405c-69b5-4bf9-a1f5-30e8f1afab5e'],
  ['HypervisorX', '2ce9a149-effe-42f0-a635-a1d39e26c8f2'],
]

const GUIDS: string[] = []
const NAMES: string[] = []
for (let g = 0; g < 256; g++) {
  const e = GROUPS[g]
  GUIDS.push(e ? e[1] : `kernel-group-${g.toString(16).padStart(2, '0')}`)
  NAMES.push(e ? e[0] : `KernelGroup${g.toString(16).padStart(2, '0')}`)
}

/** Provider GUID of a kernel hook (Group<<8 | Type); hook 0x030A (Process group) is Image. */
export function kernelGroupGuid(hookId: number): string {
  if (hookId === 0x030a) return IMAGE_GROUP_GUID
  return GUIDS[(hookId >>> 8) & 0xff]
}

export function kernelGroupName(hookId: number): string {
  if (hookId === 0x030a) return 'Image'
  return NAMES[(hookId >>> 8) & 0xff]
}
