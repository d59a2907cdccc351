// The CLI options of issue 8: --memory-high-watermark (RabbitMQ's relative and absolute forms) and the TLS options.
import { describe, expect, it } from 'vitest'
import { amqpsUrl, httpUrl, memoryWatermarkBytes, parseCliOptions, parseMemoryWatermark, USAGE } from '../../../broker/cli-options'

const options = (argv: string[]) => {
  const result = parseCliOptions(argv)
  if (result.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(result)}`)
  return result.options
}
const error = (argv: string[]) => {
  const result = parseCliOptions(argv)
  return result.kind === 'error' ? result.message : `not an error: ${JSON.stringify(result)}`
}

describe('--memory-high-watermark', () => {
  it.each([
    ['1048576', { absolute: 1048576 }],
    ['512MiB', { absolute: 512 * 1024 ** 2 }],
    ['512M', { absolute: 512 * 1024 ** 2 }],
    ['2GB', { absolute: 2e9 }],
    ['2 GiB', { absolute: 2 * 1024 ** 3 }],
    ['64k', { absolute: 65536 }],
    ['100kB', { absolute: 100_000 }],
    ['0.4', { relative: 0.4 }],
    ['.25', { relative: 0.25 }],
    ['1.0', { relative: 1 }],
  ])('reads %s', (raw, expected) => {
    expect(parseMemoryWatermark(raw)).toEqual(expected)
    expect(options(['--memory-high-watermark', raw]).memoryHighWatermark).toEqual(expected)
  })

  it.each(['0', '0.0', '1.5', '-1', 'lots', '5TB', '5constructor', '', '1e9'])('refuses %j', (raw) => {
    expect(typeof parseMemoryWatermark(raw)).toBe('string')
    expect(error(['--memory-high-watermark', raw])).toMatch(/--memory-high-watermark/)
  })

  it('turns a fraction into bytes of this machine\'s RAM; absent, the options carry no watermark', () => {
    expect(memoryWatermarkBytes({ relative: 0.5 }, 8 * 1024 ** 3)).toBe(4 * 1024 ** 3)
    expect(memoryWatermarkBytes({ absolute: 123 }, 8 * 1024 ** 3)).toBe(123)
    expect('memoryHighWatermark' in options([])).toBe(false)
    expect(USAGE).toContain('--memory-high-watermark')
  })
})

describe('TLS options', () => {
  it('reads the certificate files, the port, peer verification and HTTPS', () => {
    expect(options(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).toMatchObject({ tls: { certFile: 'c.pem', keyFile: 'k.pem' } })
    expect(options(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tlsPort).toBeUndefined()
    const all = options(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem', '--tls-verify-peer', '--tls-port', '5999', '--http-port', '15671', '--https'])
    expect(all).toMatchObject({ tls: { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', verifyPeer: true }, tlsPort: 5999, httpPort: 15671, https: true })
    for (const word of ['--tls-cert', '--tls-key', '--tls-ca', '--tls-port', '--tls-verify-peer', '--https']) expect(USAGE).toContain(word)
  })

  it.each([
    [['--tls-cert', 'c.pem'], /--tls-cert needs --tls-key/],
    [['--tls-key', 'k.pem'], /--tls-key needs --tls-cert/],
    [['--tls-ca', 'ca.pem'], /--tls-ca needs --tls-cert and --tls-key/],
    [['--tls-port', '5671'], /--tls-port needs --tls-cert and --tls-key/],
    [['--http-port', '0', '--https'], /--https needs --tls-cert and --tls-key/],
    [['--tls-cert', 'c', '--tls-key', 'k', '--https'], /--https needs --http-port/],
    [['--tls-cert', 'c', '--tls-key', 'k', '--tls-verify-peer'], /--tls-verify-peer needs --tls-ca/],
    [['--tls-cert', 'c', '--tls-key', 'k', '--tls-port', 'x'], /--tls-port must be a whole number/],
  ])('rejects %j', (argv, message) => {
    expect(error(argv)).toMatch(message)
  })

  it('prints amqps and https URLs through loopback for a wildcard bind', () => {
    expect(amqpsUrl('0.0.0.0', 5671)).toBe('amqps://127.0.0.1:5671')
    expect(httpUrl('127.0.0.1', 15671, true)).toBe('https://127.0.0.1:15671/api/')
  })
})
