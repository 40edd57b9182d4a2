/**
 * The bundled demo trace (fixtures/demo/demo.jsonl): three processes over about ten seconds of
 * healthy SAN traffic, with a handful of contract violations among it:
 *   - a blocking connect forwarded as blocking (no WSPEventSelect, WSPConnect blocks 2.4 s): SAN012, SAN013;
 *   - resources still held after close (no WPUCloseSocketHandle after WSPCloseSocket): SAN032;
 *   - an RDMA wait past the threshold after an application cancel, with no forcing close: SAN035;
 *   - a WSPCancelBlockingCall sent to the provider: SAN001.
 * `scripts/make-demo.mjs` writes it; a test checks the committed file matches this code.
 */
import {type RawEvent, TraceBuilder, WSA_IO_PENDING, WSA_OPERATION_ABORTED} from './builder.js'

function client(): TraceBuilder {
  // pid 4120: a database client with two SAN connections.
  const b = new TraceBuilder()
  const pid = 4120
  b.at(1)
  b.startup(pid, 77)
  b.callRet(pid, 77, 'WSPIoctl', {Socket: '0x0', IoctlCode: 0xc8000006, IoctlGuid: '{c0b422f9-f58c-11d1-ad6c-00c04fa34a2d}', InLen: 16, OutLen: 8, Overlapped: '0x0'}, 0, 0, 0.01, {BytesOut: 8})
  // Healthy connection 0x2a0.
  b.connect(pid, 77, '0x2a0', '0x3c4', '10.0.0.2:1433')
  b.register(pid, 77, '0x2a0', '0x5000000', 65536, '0x9001')
  b.register(pid, 77, '0x2a0', '0x5100000', 65536, '0x9002')
  for (let i = 0; i < 40; i++) {
    const ov = `0x7ffd${(0x1200 + (i % 4) * 0x40).toString(16)}`
    b.post(pid, 77, 'WSPRecv', '0x2a0', ov, 4096, {buf: '0x5100000'})
    const sov = '0x7ffd1400'
    if (i % 5 === 4) {
      // Poll mode (hEvent bit 0 set): the switch polls with WSPGetOverlappedResult.
      b.post(pid, 78, 'WSPSend', '0x2a0', sov, 512, {hEvent: '0x1f1', buf: '0x5000000'})
      b.wait(0.05)
      b.callRet(pid, 78, 'WSPGetOverlappedResult', {Socket: '0x2a0', Overlapped: sov, FWait: false}, 0, 996, 0.005)
      b.wait(0.05)
      b.emit(pid, undefined, 'OpDone', {Socket: '0x2a0', Overlapped: sov, Error: 0, Bytes: 512, Notified: false, Reason: 'normal'})
      b.callRet(pid, 78, 'WSPGetOverlappedResult', {Socket: '0x2a0', Overlapped: sov, FWait: false}, 1, 0, 0.005, {BytesOut: 512, FlagsOut: 0})
    } else {
      b.post(pid, 78, 'WSPSend', '0x2a0', sov, 512, {buf: '0x5000000'})
      b.wait(0.08)
      b.complete(pid, 90, '0x3c4', sov, 512)
    }
    b.wait(0.3 + (i % 3) * 0.1)
    b.complete(pid, 90, '0x3c4', ov, 1024 + i * 16)
    b.wait(20)
  }
  b.callRet(pid, 77, 'WSPDeregisterMemory', {Socket: '0x2a0', MemHandle: '0x9001'})
  b.callRet(pid, 77, 'WSPDeregisterMemory', {Socket: '0x2a0', MemHandle: '0x9002'})
  b.close(pid, 77, '0x2a0', '0x3c4')

  // Connection 0x2b8: the switch forwards the application's blocking connect as blocking.
  b.at(1200)
  b.socket(pid, 81, '0x2b8', '0x3d0')
  b.callRet(pid, 81, 'WSPBind', {Socket: '0x2b8', Addr: '10.0.0.1:50312'})
  b.callRet(pid, 81, 'WSPConnect', {Socket: '0x2b8', Addr: '10.0.0.3:1433'}, 0, 0, 2400)
  b.register(pid, 81, '0x2b8', '0x5200000', 16384, '0x9003')
  // A blocking receive the application then cancels: the switch wrongly forwards the cancel.
  b.post(pid, 81, 'WSPRecv', '0x2b8', '0x7ffd2040', 4096, {buf: '0x5200000'})
  b.post(pid, 81, 'WSPSend', '0x2b8', '0x7ffd2000', 256, {buf: '0x5201000'})
  b.wait(0.1)
  b.complete(pid, 90, '0x3d0', '0x7ffd2000', 256)
  b.wait(800)
  b.callRet(pid, 82, 'WSPCancelBlockingCall', {}, -1, 10045)
  b.wait(5)
  // The receive still owns its buffer: the switch leaves the registration to the close.
  const seq = b.call(pid, 81, 'WSPCloseSocket', {Socket: '0x2b8'})
  b.wait(0.2)
  b.complete(pid, 90, '0x3d0', '0x7ffd2040', 0, WSA_OPERATION_ABORTED)
  b.ret(pid, 81, 'WSPCloseSocket', seq, 0, 0, {Socket: '0x2b8'})
  b.wait(0.1)
  b.upcall(pid, 90, 'WPUCloseSocketHandle', {SwitchSocket: '0x3d0'})
  b.wait(50)
  b.callRet(pid, 77, 'WSPCleanup', {})
  return b
}

function server(): TraceBuilder {
  // pid 5230: a server accepting two SAN connections.
  const b = new TraceBuilder()
  const pid = 5230
  b.at(0.5)
  b.startup(pid, 12)
  b.listen(pid, 12, '0x1a0', '0x400', '10.0.0.2:1433')
  b.at(3)
  b.accept(pid, 12, '0x1a0', '0x1c8', '0x410')
  b.register(pid, 14, '0x1c8', '0x6000000', 65536, '0xa001')
  for (let i = 0; i < 30; i++) {
    b.post(pid, 14, 'WSPRecv', '0x1c8', '0x8a001000', 4096, {buf: '0x6000000'})
    b.wait(18)
    b.complete(pid, 20, '0x410', '0x8a001000', 512)
    b.post(pid, 14, 'WSPSend', '0x1c8', '0x8a001040', 1024, {buf: '0x6008000'})
    b.wait(0.2)
    b.complete(pid, 20, '0x410', '0x8a001040', 1024)
    b.wait(10)
  }
  // Close with a receive still pending: the provider aborts it, then releases the handle.
  b.post(pid, 14, 'WSPRecv', '0x1c8', '0x8a001000', 4096, {buf: '0x6000000'})
  b.wait(3)
  const seq = b.call(pid, 14, 'WSPCloseSocket', {Socket: '0x1c8'})
  b.wait(0.3)
  b.complete(pid, 20, '0x410', '0x8a001000', 0, WSA_OPERATION_ABORTED)
  b.ret(pid, 14, 'WSPCloseSocket', seq, 0, 0, {Socket: '0x1c8'})
  b.wait(0.2)
  b.upcall(pid, 20, 'WPUCloseSocketHandle', {SwitchSocket: '0x410'})

  // Second connection 0x1d0: closed, but the provider never makes the final upcall.
  b.at(2500)
  b.accept(pid, 12, '0x1a0', '0x1d0', '0x418')
  b.register(pid, 15, '0x1d0', '0x6100000', 65536, '0xa002')
  for (let i = 0; i < 10; i++) {
    b.post(pid, 15, 'WSPRecv', '0x1d0', '0x8a002000', 4096, {buf: '0x6100000'})
    b.wait(30)
    b.complete(pid, 20, '0x418', '0x8a002000', 300)
  }
  b.callRet(pid, 15, 'WSPDeregisterMemory', {Socket: '0x1d0', MemHandle: '0xa002'})
  b.close(pid, 15, '0x1d0', '0x418', {release: false})
  b.at(9000)
  b.close(pid, 12, '0x1a0', '0x400')
  b.wait(10)
  b.callRet(pid, 12, 'WSPCleanup', {})
  return b
}

function rdmaApp(): TraceBuilder {
  // pid 6344: an application with the switch shim's events; an RDMA read outlives a cancel.
  const b = new TraceBuilder()
  const pid = 6344
  b.at(2)
  b.startup(pid, 300)
  b.connect(pid, 300, '0x300', '0x500', '10.0.0.9:5001', {hEvent: '0x5f0'})
  b.register(pid, 300, '0x300', '0x7000000', 1 << 20, '0xb001')
  b.register(pid, 300, '0x300', '0x7200000', 65536, '0xb002')
  // The switch keeps a receive posted for its session messages.
  b.post(pid, 300, 'WSPRecv', '0x300', '0x7ffd3100', 4096, {hEvent: '0x5f0', buf: '0x7200000'})
  // A switch-buffered send the application cancels: completed at once with a failure (healthy).
  b.at(400)
  b.emit(pid, 301, 'AppRequest', {provider: 'WSD.SwitchShim', AppReqId: 20, AppSocket: '0x120', Kind: 'send', Blocking: true, BufAddr: '0x10000', BufLen: 200})
  b.wait(1)
  b.emit(pid, 301, 'AppCancel', {provider: 'WSD.SwitchShim', AppReqId: 20})
  b.wait(0.3)
  b.emit(pid, 301, 'AppComplete', {provider: 'WSD.SwitchShim', AppReqId: 20, Status: WSA_OPERATION_ABORTED, Bytes: 0})
  // A large blocking receive served by RDMA read into the application buffer.
  b.at(1000)
  b.emit(pid, 301, 'AppRequest', {provider: 'WSD.SwitchShim', AppReqId: 21, AppSocket: '0x120', Kind: 'recv', Blocking: true, BufAddr: '0x7000000', BufLen: 262144})
  b.post(pid, 300, 'WSPRdmaRead', '0x300', '0x7ffd3000', 262144, {
    hEvent: '0x5f0',
    buf: '0x7000000',
    memHandle: '0xb001',
    extra: {TargetDescriptor: '00112233445566778899aabbccddeeff', TargetDescriptorLen: 16, TargetOffset: 0},
  })
  b.emit(pid, 300, 'SwitchMap', {provider: 'WSD.SwitchShim', AppReqId: 21, SanSocket: '0x300', Overlapped: ['0x7ffd3000'], RdmaRanges: [{Addr: '0x7000000', Len: 262144}]})
  b.wait(700)
  b.emit(pid, 301, 'AppCancel', {provider: 'WSD.SwitchShim', AppReqId: 21})
  // The switch waits 6.5 s (limit 5 s) before it closes the socket to force completion.
  b.wait(6500)
  const seq = b.call(pid, 300, 'WSPCloseSocket', {Socket: '0x300'})
  b.wait(0.5)
  b.complete(pid, 302, '0x500', '0x7ffd3000', 0, WSA_OPERATION_ABORTED)
  b.complete(pid, 302, '0x500', '0x7ffd3100', 0, WSA_OPERATION_ABORTED)
  b.ret(pid, 300, 'WSPCloseSocket', seq, 0, 0, {Socket: '0x300'})
  b.wait(0.2)
  b.upcall(pid, 302, 'WPUCloseSocketHandle', {SwitchSocket: '0x500'})
  b.emit(pid, 301, 'AppComplete', {provider: 'WSD.SwitchShim', AppReqId: 21, Status: WSA_OPERATION_ABORTED, Bytes: 0})
  b.wait(100)
  b.callRet(pid, 300, 'WSPCleanup', {})
  return b
}

/** The demo events, merged across processes in time order. */
export function demoEvents(): RawEvent[] {
  const all = [client(), server(), rdmaApp()].flatMap((b) => b.events)
  return all.map((e, i) => [e, i] as const).sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1]).map(([e]) => e)
}

export function demoJsonl(): string {
  return demoEvents().map((e) => JSON.stringify(e)).join('\n') + '\n'
}

export {WSA_IO_PENDING}
