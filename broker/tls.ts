/** Reads the user's certificate files for startBroker's `tls` option, with messages that name the file and the option. */
import { readFileSync } from 'node:fs'
import type { BrokerTlsOptions } from './index'

export interface TlsFiles {
  certFile: string
  keyFile: string
  caFile?: string
  verifyPeer?: boolean
}

function read(option: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (e) {
    throw new Error(`cannot read ${option} ${path}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

export function readTlsFiles(files: TlsFiles): BrokerTlsOptions {
  const tls: BrokerTlsOptions = { cert: read('--tls-cert', files.certFile), key: read('--tls-key', files.keyFile) }
  if (files.caFile !== undefined) tls.ca = read('--tls-ca', files.caFile)
  if (files.verifyPeer) tls.verifyPeer = true
  return tls
}
