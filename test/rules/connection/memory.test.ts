import {ruleTester} from '../../helpers/rule-tester.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {CONNECTION_RULES} from '../../../src/rules/connection/index.js'
import {emptyConfig} from '../../../src/config.js'
import type {ProviderCapabilities} from '../../../src/rules/types.js'
import {
  AH, AS, BUF, CB, DEST, H, LS, MEMH, P, Q, S, T, WSAEINVAL, WSAENOTCONN,
  connectedPair, getSockOpt, listener, rdma, rdmaRegister,
} from './helpers.js'

/** Analyze options declaring provider capabilities (configuration file). */
const provider = (p: ProviderCapabilities) => ({config: {...emptyConfig(), provider: p}})

const S2 = '0x2b0'
const H2 = '0x3d0'
const WSAENOTSOCK = 10038
const MEM_READ = 1
const MEM_WRITE = 2

/** A connected socket S with 64 KiB registered at BUF (handle MEMH). */
function connected(b: TraceBuilder, flags = 3): void {
  b.connect(P, T, S, H, DEST)
  b.register(P, T, S, BUF, 65536, MEMH, flags)
}

/** Two-sided: the pair connected, the local side registered, the peer exposing `desc`. */
function rdmaSetup(b: TraceBuilder, o: {flags?: number; desc?: string; len?: number} = {}): void {
  connectedPair(b)
  b.register(P, T, S, BUF, 65536, MEMH)
  rdmaRegister(b, {desc: o.desc ?? 'aabbccdd', flags: o.flags, len: o.len})
}

ruleTester(
  'SAN020',
  {
    valid: [
      {
        name: 'send, receive and RDMA buffers inside the socket\'s registration',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
          b.post(P, T, 'WSPRecv', S, '0x7040', 4096, {buf: '0x5001000'})
          b.post(P, T, 'WSPRdmaWrite', S, '0x7080', 100, {memHandle: MEMH, extra: {TargetDescriptor: 'aabb', TargetDescriptorLen: 2, TargetOffset: 0}})
        },
      },
      {
        name: 'several buffers, each inside a registration',
        build: (b) => {
          connected(b)
          b.register(P, T, S, '0x6000000', 4096, '0x9002')
          b.post(P, T, 'WSPSend', S, '0x7000', 200, {extra: {BufferCount: 2, Buffers: [{Addr: BUF, Len: 100}, {Addr: '0x6000f00', Len: 256}]}})
        },
      },
      {
        name: 'two-sided: RDMA to the peer\'s live descriptor, in bounds, with its length',
        build: (b) => {
          rdmaSetup(b)
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd', len: 4096, offset: 4096})
        },
      },
      {
        name: 'a registration re-made after the cache callback is usable',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
          b.callRet(P, T, 'WSPMemoryRegistrationCacheCallback', {CacheAddr: BUF, CacheSize: 65536})
          b.register(P, T, S, BUF, 65536, '0x9002')
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
        },
      },
      {
        name: 'the same handle registered for another socket too (ref-counted by the provider)',
        build: (b) => {
          connected(b)
          b.connect(P, T, S2, H2, '10.0.0.3:445')
          b.register(P, T, S2, BUF, 65536, MEMH)
          b.post(P, T, 'WSPSend', S2, '0x7000', 100)
        },
      },
    ],
    invalid: [
      {
        name: 'registration on a bound socket, and the provider accepts it',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPBind', {Socket: S, Addr: '10.0.0.1:0'})
          b.register(P, T, S, BUF, 65536, MEMH)
        },
        findings: [
          {message: /^WSPRegisterMemory on 0x2a0 in state BOUND: memory is registered per connected socket$/, severity: 'warning', fault: 'switch'},
          {message: /^the provider accepted WSPRegisterMemory on 0x2a0 in state BOUND; it should fail with WSAENOTCONN \(10057\)$/, severity: 'warning', fault: 'provider'},
        ],
      },
      {
        name: 'RDMA registration on a listening socket, refused with WSAENOTCONN',
        build: (b) => {
          listener(b)
          b.callRet(Q, T, 'WSPRegisterRdmaMemory', {Socket: LS, RegAddr: BUF, RegLen: 4096, MemFlags: 3, DescriptorLenIn: 64}, -1, WSAENOTCONN)
        },
        findings: [{message: /WSPRegisterRdmaMemory on 0x1a0 in state LISTENING/, severity: 'warning'}],
      },
      {
        name: 'a send buffer outside every registration',
        build: (b) => (connected(b), b.post(P, T, 'WSPSend', S, '0x7000', 100, {buf: '0x6000000'})),
        findings: [
          {
            message: /^WSPSend \(OVERLAPPED 0x7000\) on 0x2a0: buffer 0 \[0x6000000, 0x6000064\) \(100 bytes\) is not inside a live registration: no live WSPRegisterMemory registration of the socket contains it$/,
            fault: 'switch',
            socket: S,
          },
        ],
      },
      {
        name: 'a receive buffer extending beyond its registration',
        build: (b) => (connected(b), b.post(P, T, 'WSPRecv', S, '0x7040', 512, {buf: '0x500ff00'})),
        findings: [{message: /buffer 0 \[0x500ff00, 0x5010100\) \(512 bytes\) is not inside a live registration: it extends beyond registration 0x9001 \[0x5000000, 0x5010000\)/}],
      },
      {
        name: 'a buffer registered on another socket only',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.connect(P, T, S2, H2, '10.0.0.3:445')
          b.register(P, T, S2, BUF, 65536, MEMH)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
        },
        findings: [{message: /WSPSend \(OVERLAPPED 0x7000\) on 0x2a0: buffer 0 .* no live WSPRegisterMemory registration of the socket contains it/}],
      },
      {
        name: 'an RDMA buffer whose handle was deregistered',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
          b.post(P, T, 'WSPRdmaWrite', S, '0x7080', 100, {memHandle: MEMH, extra: {TargetDescriptor: 'aabb', TargetDescriptorLen: 2, TargetOffset: 0}})
        },
        findings: [{message: /WSPRdmaWrite \(OVERLAPPED 0x7080\) on 0x2a0: buffer 0 .* its handle 0x9001 was deregistered at \+0\.\d+ s/}],
      },
      {
        name: 'a registration invalidated by the cache callback and used again',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPMemoryRegistrationCacheCallback', {CacheAddr: '0x5008000', CacheSize: 4096})
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
        },
        findings: [{message: /its registration 0x9001 \[0x5000000, 0x5010000\) covers a range invalidated by WSPMemoryRegistrationCacheCallback at \+0\.\d+ s and was not registered again/}],
      },
      {
        name: 'a WSABUFEX naming the wrong registration handle',
        build: (b) => {
          connected(b)
          b.register(P, T, S, '0x6000000', 4096, '0x9002')
          b.post(P, T, 'WSPRdmaRead', S, '0x7080', 100, {memHandle: '0x9002', extra: {TargetDescriptor: 'aabb', TargetDescriptorLen: 2, TargetOffset: 0}})
        },
        findings: [{message: /^WSPRdmaRead \(OVERLAPPED 0x7080\) on 0x2a0: WSABUFEX 0 \[0x5000000, 0x5000064\) names handle 0x9002, but the registration containing it is 0x9001 \(0x9002 is \[0x6000000, 0x6001000\)\)$/}],
      },
      {
        name: 'two-sided: the target descriptor is not the peer\'s',
        build: (b) => (rdmaSetup(b), rdma(b, 'WSPRdmaWrite', {desc: '11223344'})),
        findings: [{message: /^WSPRdmaWrite \(OVERLAPPED 0x7080\) on 0x2a0 targets descriptor 11223344, which is not a live WSPRegisterRdmaMemory descriptor of its peer 0x2c0 \(pid 200\)$/, pid: P}],
      },
      {
        name: 'two-sided: the peer already deregistered the descriptor',
        build: (b) => {
          rdmaSetup(b)
          b.callRet(Q, T, 'WSPDeregisterRdmaMemory', {Socket: AS, TargetDescriptor: 'aabbccdd', TargetDescriptorLen: 16})
          rdma(b, 'WSPRdmaRead', {desc: 'aabbccdd'})
        },
        findings: [{message: /targets descriptor aabbccdd, which is not a live WSPRegisterRdmaMemory descriptor of its peer 0x2c0/}],
      },
      {
        name: 'the target is the local socket\'s own descriptor',
        build: (b) => {
          connected(b)
          rdmaRegister(b, {pid: P, s: S, addr: '0x8000000', desc: 'aabbccdd'})
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd'})
        },
        findings: [{message: /targets descriptor aabbccdd, which is the local socket's own WSPRegisterRdmaMemory registration \[0x8000000, 0x8002000\), not the peer's/}],
      },
      {
        name: 'two-sided: offset + length beyond the peer region',
        build: (b) => (rdmaSetup(b), rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd', len: 8192, offset: 4096})),
        findings: [{message: /target offset 4096 \+ 8192 bytes exceeds the peer region of 8192 bytes \(descriptor aabbccdd, \[0x8000000, 0x8002000\) in pid 200\)/}],
      },
      {
        name: 'two-sided: descriptor length differs from the peer\'s',
        build: (b) => (rdmaSetup(b), rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd', descLen: 12})),
        findings: [{message: /dwTargetDescriptorLength 12 differs from the 16 bytes the peer's WSPRegisterRdmaMemory returned/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'no transfers or registrations', build: (b) => b.connect(P, T, S, H, DEST), reason: /no data-transfer calls or memory registrations/},
      {
        name: 'transfers without buffer arrays',
        build: (b) => (b.connect(P, T, S, H, DEST), b.callRet(P, T, 'WSPSend', {Socket: S, Overlapped: '0x7000', TotalLen: 10}, -1, 997)),
        reason: /without a Buffers field/,
      },
      {
        name: 'registrations not traced',
        build: (b) => (b.connect(P, T, S, H, DEST), b.post(P, T, 'WSPSend', S, '0x7000', 100)),
        reason: /no WSPRegisterMemory returns/,
      },
      {
        name: 'a socket created before the trace began',
        build: (b) => (b.register(P, T, '0x2e0', BUF, 65536, MEMH), b.post(P, T, 'WSPSend', '0x2e0', '0x7000', 100)),
        reason: /created before the trace began/,
      },
    ],
  },
  CONNECTION_RULES,
)

ruleTester(
  'SAN021',
  {
    valid: [
      {
        name: 'send from MEM_READ, receive into MEM_WRITE, RDMA from MEM_READWRITE',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.register(P, T, S, BUF, 4096, MEMH, MEM_READ)
          b.register(P, T, S, '0x6000000', 4096, '0x9002', MEM_WRITE)
          b.register(P, T, S, '0x7000000', 4096, '0x9003', 3)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
          b.post(P, T, 'WSPRecv', S, '0x7040', 100, {buf: '0x6000000'})
          b.post(P, T, 'WSPRdmaWrite', S, '0x7080', 100, {buf: '0x7000000', memHandle: '0x9003', extra: {TargetDescriptor: 'aa', TargetDescriptorLen: 1}})
        },
      },
      {
        name: 'a buffer in a write-only and a read/write registration may be sent',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.register(P, T, S, BUF, 4096, MEMH, MEM_WRITE)
          b.register(P, T, S, BUF, 65536, '0x9002', 3)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
        },
      },
      {
        name: 'two-sided: RDMA write into a MEM_WRITE region completes',
        build: (b) => {
          rdmaSetup(b, {flags: MEM_WRITE})
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd'})
          b.complete(P, CB, H, '0x7080', 4096)
        },
      },
      {
        name: 'two-sided: RDMA write into a MEM_READ region is refused by the provider',
        build: (b) => {
          rdmaSetup(b, {flags: MEM_READ})
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd'})
          b.complete(P, CB, H, '0x7080', 0, 10053)
        },
      },
    ],
    invalid: [
      {
        name: 'a send source in a write-only registration',
        build: (b) => (connected(b, MEM_WRITE), b.post(P, T, 'WSPSend', S, '0x7000', 100)),
        findings: [
          {
            message: /^WSPSend \(OVERLAPPED 0x7000\) on 0x2a0 reads buffer 0 \[0x5000000, 0x5000064\) in registration 0x9001 \[0x5000000, 0x5010000\) registered MEM_WRITE only: a transfer source must be readable \(MEM_READ\)$/,
            severity: 'warning',
            fault: 'switch',
          },
        ],
      },
      {
        name: 'a receive sink in a read-only registration',
        build: (b) => (connected(b, MEM_READ), b.post(P, T, 'WSPRecv', S, '0x7040', 100)),
        findings: [{message: /WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 writes buffer 0 .* registered MEM_READ only: a transfer sink must be writable \(MEM_WRITE\)/}],
      },
      {
        name: 'an RDMA read into a read-only local registration',
        build: (b) => (connected(b, MEM_READ), rdma(b, 'WSPRdmaRead', {desc: 'aa'})),
        findings: [{message: /WSPRdmaRead \(OVERLAPPED 0x7080\) on 0x2a0 writes buffer 0 .* registered MEM_READ only/}],
      },
      {
        name: 'two-sided: RDMA write into a MEM_READ peer region succeeds',
        build: (b) => {
          rdmaSetup(b, {flags: MEM_READ})
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd'})
          b.complete(P, CB, H, '0x7080', 4096)
        },
        findings: [
          {
            message: /^WSPRdmaWrite \(OVERLAPPED 0x7080\) on 0x2a0 wrote 4096 bytes into the peer region \[0x8000000, 0x8002000\) \(pid 200, socket 0x2c0\) registered MEM_READ only, and completed successfully: the provider did not enforce the access mode \(MEM_WRITE needed\)$/,
            severity: 'error',
            fault: 'provider',
          },
        ],
      },
      {
        name: 'two-sided: RDMA read from a MEM_WRITE peer region completes inline',
        build: (b) => {
          rdmaSetup(b, {flags: MEM_WRITE})
          b.callRet(P, T, 'WSPRdmaRead', {Socket: S, Overlapped: '0x7080', HEvent: '0x1f0', CompletionRoutine: '0x0', Flags: 0, BufferCount: 1, TotalLen: 100, Buffers: [{Addr: BUF, Len: 100, Handle: MEMH}], TargetDescriptor: 'aabbccdd', TargetDescriptorLen: 16, TargetOffset: 0}, 0, 0, 0.02, {BytesOut: 100})
        },
        findings: [{message: /WSPRdmaRead .* read 100 bytes from the peer region .* registered MEM_WRITE only, and completed successfully/, severity: 'error'}],
      },
    ],
    notEvaluated: [
      {name: 'no registrations', build: (b) => (b.connect(P, T, S, H, DEST), b.post(P, T, 'WSPSend', S, '0x7000', 10)), reason: /no memory registrations/},
      {name: 'registrations but no transfers', build: (b) => connected(b), reason: /no data-transfer calls/},
      {
        name: 'only buffers outside the registrations (SAN020\'s business)',
        build: (b) => (connected(b), b.post(P, T, 'WSPSend', S, '0x7000', 100, {buf: '0x6000000'})),
        reason: /no transfer buffer in a registration with known access flags/,
      },
    ],
  },
  CONNECTION_RULES,
)

ruleTester(
  'SAN022',
  {
    valid: [
      {
        name: 'deregister after the transfer completed, then close',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
          b.complete(P, CB, H, '0x7000', 100)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
          b.close(P, T, S, H)
        },
      },
      {
        name: 'RDMA registration deregistered before close',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          rdmaRegister(b, {pid: P, s: S, desc: 'aabb'})
          b.callRet(P, T, 'WSPDeregisterRdmaMemory', {Socket: S, TargetDescriptor: 'aabb', TargetDescriptorLen: 16})
          b.close(P, T, S, H)
        },
      },
      {
        name: 'the registration used by a pending receive is left to the provider at close',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', S, '0x7040', 100)
          b.close(P, T, S, H)
        },
      },
      {
        name: 'a socket duplicated out is only closed',
        build: (b) => {
          connected(b)
          b.register(P, T, S, '0x6000000', 4096, '0x9002')
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9002'})
          b.callRet(P, T, 'WSPDuplicateSocket', {Socket: S, TargetPid: 300}, 0, 0, 0.02, {ProviderReservedOut: '0x77'})
          b.close(P, T, S, H)
        },
      },
    ],
    invalid: [
      {
        name: 'a handle of another socket (the provider refuses)',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.connect(P, T, S2, H2, '10.0.0.3:445')
          b.register(P, T, S2, BUF, 65536, '0x9002')
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9002'}, -1, WSAEINVAL)
        },
        findings: [{message: /^WSPDeregisterMemory on 0x2a0 with handle 0x9002: it was registered on 0x2b0 \(\[0x5000000, 0x5010000\)\), not on this socket; a handle is valid only for its socket$/, fault: 'switch', severity: 'error'}],
      },
      {
        name: 'a handle of another socket, and the provider accepts it',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.connect(P, T, S2, H2, '10.0.0.3:445')
          b.register(P, T, S2, BUF, 65536, '0x9002')
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9002'})
        },
        findings: [
          {message: /registered on 0x2b0/, fault: 'switch'},
          {message: /^the provider accepted WSPDeregisterMemory on 0x2a0 \(it was registered on 0x2b0 .*\); it must fail with WSAEINVAL \(10022\)$/, fault: 'provider'},
        ],
      },
      {
        name: 'an unknown handle, refused with WSAEINVAL',
        build: (b) => (connected(b), b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9abc'}, -1, WSAEINVAL)),
        findings: [{message: /with handle 0x9abc: no live WSPRegisterMemory of this socket returned it/}],
      },
      {
        name: 'deregistered twice, and the provider accepts the second',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
        },
        findings: [{message: /with handle 0x9001: it was already deregistered at \+0\.\d+ s/}, {message: /the provider accepted WSPDeregisterMemory/, fault: 'provider'}],
      },
      {
        name: 'an unknown handle answered with another code',
        build: (b) => (connected(b), b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9abc'}, -1, WSAENOTSOCK)),
        findings: [{message: /no live WSPRegisterMemory/}, {message: /the provider failed with WSAENOTSOCK \(10038\) WSPDeregisterMemory on 0x2a0/, fault: 'provider'}],
      },
      {
        name: 'memory in use by a pending receive, refused by the provider',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', S, '0x7040', 100)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH}, -1, WSAEINVAL)
        },
        findings: [
          {
            message: /^WSPDeregisterMemory on 0x2a0 releases registration 0x9001 \[0x5000000, 0x5010000\) while 1 transfer uses it \(WSPRecv \(OVERLAPPED 0x7040\) outstanding\)/,
            severity: 'warning',
            fault: 'switch',
          },
        ],
      },
      {
        name: 'memory released under an in-flight DMA',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', S, '0x7000', 100)
          b.post(P, T, 'WSPRdmaWrite', S, '0x7080', 100, {buf: '0x5008000', memHandle: MEMH, extra: {TargetDescriptor: 'aa', TargetDescriptorLen: 1}})
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
        },
        findings: [
          {message: /while 2 transfers use it \(WSPSend \(OVERLAPPED 0x7000\), WSPRdmaWrite \(OVERLAPPED 0x7080\) outstanding\)/, severity: 'warning'},
          {message: /^the provider accepted WSPDeregisterMemory on 0x2a0 while .* still used the memory: memory released under an in-flight DMA/, severity: 'error', fault: 'provider'},
        ],
      },
      {
        name: 'an unknown RDMA descriptor',
        build: (b) => (connected(b), b.callRet(P, T, 'WSPDeregisterRdmaMemory', {Socket: S, TargetDescriptor: 'ffee', TargetDescriptorLen: 2}, -1, WSAEINVAL)),
        findings: [{message: /^WSPDeregisterRdmaMemory on 0x2a0 with descriptor ffee: no live WSPRegisterRdmaMemory of this socket returned it$/}],
      },
      {
        name: 'two-sided: RDMA registration released while the peer\'s RDMA write is outstanding',
        build: (b) => {
          rdmaSetup(b)
          rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd'})
          b.callRet(Q, T, 'WSPDeregisterRdmaMemory', {Socket: AS, TargetDescriptor: 'aabbccdd', TargetDescriptorLen: 16})
        },
        findings: [
          {message: /^WSPDeregisterRdmaMemory on 0x2c0 releases RDMA registration aabbccdd \[0x8000000, 0x8002000\) while 1 transfer uses it \(WSPRdmaWrite \(OVERLAPPED 0x7080\) outstanding\)/, severity: 'warning', pid: Q},
          {message: /memory released under an in-flight DMA/, fault: 'provider', pid: Q},
        ],
      },
      {
        name: 'close with live registrations not used by pending transfers',
        build: (b) => {
          connected(b)
          b.register(P, T, S, '0x6000000', 4096, '0x9002')
          rdmaRegister(b, {pid: P, s: S, desc: 'aabb'})
          b.post(P, T, 'WSPRecv', S, '0x7040', 100, {buf: '0x6000000'})
          b.close(P, T, S, H)
        },
        findings: [
          {
            message: /^WSPCloseSocket on 0x2a0 with 2 registrations still live and not used by pending transfers \(handle 0x9001 \[0x5000000, 0x5010000\), RDMA descriptor aabb \[0x8000000, 0x8002000\)\): the switch should deregister before close$/,
            severity: 'info',
            fault: 'switch',
          },
        ],
      },
    ],
    notEvaluated: [
      {name: 'no registrations', build: (b) => (b.connect(P, T, S, H, DEST), b.close(P, T, S, H)), reason: /no memory registrations/},
      {name: 'registrations, but no deregistration or close', build: (b) => connected(b), reason: /no deregistrations or WSPCloseSocket calls/},
      {
        name: 'deregistration on a socket created before the trace began',
        build: (b) => (connected(b), b.callRet(P, T, 'WSPDeregisterMemory', {Socket: '0x2e0', MemHandle: MEMH})),
        reason: /created before the trace began/,
      },
    ],
  },
  CONNECTION_RULES,
)

const SO_MAX_MSG_SIZE = 0x2003
const SO_MAX_RDMA_SIZE = 0x700d
const SO_RDMA_THRESHOLD_SIZE = 0x700e

ruleTester(
  'SAN023',
  {
    valid: [
      {
        name: 'sends and RDMA within the reported limits',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 65536)
          getSockOpt(b, SO_MAX_RDMA_SIZE, 1 << 20)
          b.post(P, T, 'WSPSend', S, '0x7000', 65536)
          rdma(b, 'WSPRdmaWrite', {desc: 'aa', len: 1 << 20})
        },
      },
      {
        name: 'a limit reported on another socket of the process applies',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 4096, S2)
          b.post(P, T, 'WSPSend', S, '0x7000', 4096)
        },
      },
      {
        name: 'the configured provider limit applies when the trace has none',
        options: provider({maxMsgSize: 8192}),
        build: (b) => (connected(b), b.post(P, T, 'WSPSend', S, '0x7000', 8192)),
      },
      {
        name: 'receives are not limited by SO_MAX_MSG_SIZE',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 4096)
          b.post(P, T, 'WSPRecv', S, '0x7040', 65536)
          b.post(P, T, 'WSPSend', S, '0x7000', 10)
        },
      },
    ],
    invalid: [
      {
        name: 'a send above SO_MAX_MSG_SIZE',
        build: (b) => (connected(b), getSockOpt(b, SO_MAX_MSG_SIZE, 65536), b.post(P, T, 'WSPSend', S, '0x7000', 70000)),
        findings: [
          {
            message: /^WSPSend \(OVERLAPPED 0x7000\) on 0x2a0 sends 70000 bytes in one call > SO_MAX_MSG_SIZE 65536 \(WSPGetSockOpt on 0x2a0 at \+0\.\d+ s\); the switch must split transfers/,
            fault: 'switch',
            severity: 'error',
          },
        ],
      },
      {
        name: 'the total of several buffers counts',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 65536)
          b.post(P, T, 'WSPSend', S, '0x7000', 80000, {extra: {BufferCount: 2, Buffers: [{Addr: BUF, Len: 40000}, {Addr: '0x5009c40', Len: 40000}]}})
        },
        findings: [{message: /sends 80000 bytes in one call > SO_MAX_MSG_SIZE 65536/}],
      },
      {
        name: 'an RDMA above SO_MAX_RDMA_SIZE reported on another socket',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_RDMA_SIZE, 4096, S2)
          rdma(b, 'WSPRdmaRead', {desc: 'aa', len: 8192})
        },
        findings: [{message: /WSPRdmaRead \(OVERLAPPED 0x7080\) on 0x2a0 transfers 8192 bytes in one call > SO_MAX_RDMA_SIZE 4096 \(WSPGetSockOpt on 0x2b0 at \+0\.\d+ s \(same process\)\)/}],
      },
      {
        name: 'the socket\'s own value takes precedence',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 1 << 20, S2)
          getSockOpt(b, SO_MAX_MSG_SIZE, 1024)
          b.post(P, T, 'WSPSend', S, '0x7000', 2000)
        },
        findings: [{message: /sends 2000 bytes in one call > SO_MAX_MSG_SIZE 1024 \(WSPGetSockOpt on 0x2a0/}],
      },
      {
        name: 'the configured provider limit',
        options: provider({maxRdmaSize: 1024}),
        build: (b) => (connected(b), rdma(b, 'WSPRdmaWrite', {desc: 'aa', len: 2048})),
        findings: [{message: /transfers 2048 bytes in one call > SO_MAX_RDMA_SIZE 1024 \(the configured provider maxRdmaSize\)/}],
      },
      {
        name: 'RDMA below the preferred threshold is info, once per socket',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_RDMA_SIZE, 1 << 20)
          getSockOpt(b, SO_RDMA_THRESHOLD_SIZE, 8192)
          rdma(b, 'WSPRdmaWrite', {desc: 'aa', len: 1000})
          rdma(b, 'WSPRdmaWrite', {desc: 'aa', len: 1000, ov: '0x70c0'})
        },
        findings: [{message: /^WSPRdmaWrite \(OVERLAPPED 0x7080\) on 0x2a0 moves 1000 bytes by RDMA, below the provider's preferred SO_RDMA_THRESHOLD_SIZE 8192/, severity: 'info'}],
      },
      {
        name: 'a send above the preferred threshold is info',
        build: (b) => {
          connected(b)
          getSockOpt(b, SO_MAX_MSG_SIZE, 1 << 20)
          getSockOpt(b, SO_RDMA_THRESHOLD_SIZE, 8192)
          b.post(P, T, 'WSPSend', S, '0x7000', 16384)
        },
        findings: [{message: /moves 16384 bytes by a send, above the provider's preferred SO_RDMA_THRESHOLD_SIZE 8192/, severity: 'info'}],
      },
    ],
    notEvaluated: [
      {name: 'no limit reported or configured', build: (b) => (connected(b), b.post(P, T, 'WSPSend', S, '0x7000', 100)), reason: /SO_MAX_MSG_SIZE is not in the trace/},
      {name: 'no sends', build: (b) => (connected(b), getSockOpt(b, SO_MAX_MSG_SIZE, 4096)), reason: /no WSPSend or RDMA transfer calls/},
    ],
  },
  CONNECTION_RULES,
)

export {AH, DEST}
