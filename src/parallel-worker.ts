/** Worker thread of `analyze --jobs`: analyzes one group of files per message. */
import {parentPort, workerData} from 'node:worker_threads'
import {analyze} from './analyze.js'
import {SantraceError} from './util/errors.js'

const options = (workerData as {options: Record<string, unknown>}).options

parentPort!.on('message', async (msg: {files: string[]}) => {
  try {
    const report = await analyze({...options, files: msg.files})
    parentPort!.postMessage({report})
  } catch (e) {
    const err = e as Error
    parentPort!.postMessage({error: {message: err.message, exitCode: e instanceof SantraceError ? e.exitCode : 2}})
  }
})
