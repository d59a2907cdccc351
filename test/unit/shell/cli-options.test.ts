import { describe, expect, it } from 'vitest'
import { amqpUrl, clientHost, DEFAULT_HOST, DEFAULT_PORT, httpUrl, parseCliOptions, USAGE } from '../../../broker/cli-options'

describe('parseCliOptions', () => {
  it('uses the defaults: port 5672, all interfaces, in-memory store', () => {
    expect(parseCliOptions([])).toEqual({
      kind: 'run',
      options: { port: DEFAULT_PORT, host: DEFAULT_HOST, dataDir: undefined, heartbeat: undefined },
    })
    expect(DEFAULT_PORT).toBe(5672)
  })

  it('reads every option, in both --opt value and --opt=value forms', () => {
    expect(parseCliOptions(['--port', '0', '--host=127.0.0.1', '--data', './data', '--heartbeat', '30'])).toEqual({
      kind: 'run',
      options: { port: 0, host: '127.0.0.1', dataDir: './data', heartbeat: 30 },
    })
  })

  it('reads --http-port and --bind for the management HTTP API', () => {
    expect(parseCliOptions(['--http-port', '15672'])).toEqual({
      kind: 'run',
      options: { port: DEFAULT_PORT, host: DEFAULT_HOST, dataDir: undefined, heartbeat: undefined, httpPort: 15672 },
    })
    expect(parseCliOptions(['--http-port=0', '--bind', '0.0.0.0'])).toMatchObject({ kind: 'run', options: { httpPort: 0, httpHost: '0.0.0.0' } })
    const none = parseCliOptions([])
    expect(none.kind === 'run' && none.options.httpPort).toBe(undefined)
    expect(USAGE).toContain('--http-port')
    expect(USAGE).toContain('--bind')
  })

  it('recognises --help and -h', () => {
    expect(parseCliOptions(['--help'])).toEqual({ kind: 'help' })
    expect(parseCliOptions(['-h', '--port', '1'])).toEqual({ kind: 'help' })
    expect(USAGE).toContain('--port')
    expect(USAGE).toContain('--data')
  })

  it.each([
    [['--port', 'abc'], /--port must be a whole number/],
    [['--port', '-1'], /--port/],
    [['--port', '65536'], /--port must be between 0 and 65535/],
    [['--port', '1.5'], /--port must be a whole number/],
    [['--heartbeat', 'x'], /--heartbeat must be a whole number/],
    [['--host', ''], /--host must not be empty/],
    [['--data', ''], /--data must not be empty/],
    [['--bogus'], /bogus/],
    [['stray'], /stray/],
    [['--port'], /port/],
    [['--http-port', 'x'], /--http-port must be a whole number/],
    [['--http-port', '70000'], /--http-port must be between 0 and 65535/],
    [['--http-port', '1', '--bind', ''], /--bind must not be empty/],
    [['--bind', '127.0.0.1'], /--bind needs --http-port/],
  ])('rejects %j', (argv, message) => {
    const result = parseCliOptions(argv)
    expect(result.kind).toBe('error')
    if (result.kind === 'error') expect(result.message).toMatch(message)
  })

  it('accepts the edges of the port range', () => {
    expect(parseCliOptions(['--port', '65535'])).toMatchObject({ kind: 'run', options: { port: 65535 } })
    expect(parseCliOptions(['--port', '0'])).toMatchObject({ kind: 'run', options: { port: 0 } })
  })
})

describe('httpUrl', () => {
  it('points at the API through loopback when bound to every interface', () => {
    expect(httpUrl('0.0.0.0', 15672)).toBe('http://127.0.0.1:15672/api/')
    expect(httpUrl('::1', 1)).toBe('http://[::1]:1/api/')
  })
})

describe('amqpUrl', () => {
  it('points clients at loopback when bound to every interface', () => {
    expect(amqpUrl('0.0.0.0', 5672)).toBe('amqp://127.0.0.1:5672')
    expect(amqpUrl('::', 1234)).toBe('amqp://127.0.0.1:1234')
  })
  it('keeps a specific host and brackets IPv6 literals', () => {
    expect(amqpUrl('192.168.1.5', 5672)).toBe('amqp://192.168.1.5:5672')
    expect(clientHost('::1')).toBe('[::1]')
    expect(amqpUrl('localhost', 1)).toBe('amqp://localhost:1')
  })
})
