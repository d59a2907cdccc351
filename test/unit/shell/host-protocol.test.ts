import { describe, expect, it } from 'vitest'
import { encodeHostMessage, LineSplitter, parseHostMessage, splitHttpPort, type HostMessage } from '../../../main/console/host-protocol'

describe('host protocol', () => {
  it('round-trips every message type', () => {
    const messages: HostMessage[] = [
      { type: 'ready', host: '127.0.0.1', port: 5672, dataDir: '/tmp/x', pid: 12 },
      { type: 'ready', host: '0.0.0.0', port: 1, dataDir: null, pid: 1 },
      { type: 'log', level: 'warn', message: 'hm' },
      { type: 'fatal', message: 'EADDRINUSE' },
      { type: 'closed' },
    ]
    for (const m of messages) {
      const line = encodeHostMessage(m)
      expect(line.endsWith('\n')).toBe(true)
      expect(line.slice(0, -1)).not.toContain('\n')
      expect(parseHostMessage(line)).toEqual(m)
    }
  })

  it('ignores lines that are not host messages', () => {
    for (const line of ['', 'hello', '{', '[1]', 'null', '{"type":"ready","port":"5672"}', '{"type":"log","level":"debug","message":"x"}', '{"type":"other"}']) {
      expect(parseHostMessage(line)).toBeUndefined()
    }
  })

  it('splits chunks into lines, across chunk boundaries and CRLF', () => {
    const lines: string[] = []
    const s = new LineSplitter((l) => lines.push(l))
    s.push('a')
    s.push('b\r\nc\n\nd')
    expect(lines).toEqual(['ab', 'c', ''])
    s.end()
    expect(lines).toEqual(['ab', 'c', '', 'd'])
  })
})

describe('the console options of the broker host', () => {
  it('takes --http-port out of the broker CLI arguments', () => {
    expect(splitHttpPort(['--port', '5672', '--http-port', '15673', '--data', 'd'])).toEqual({ httpPort: 15673, rest: ['--port', '5672', '--data', 'd'] })
    expect(splitHttpPort(['--port', '0'])).toEqual({ httpPort: undefined, rest: ['--port', '0'] })
    expect(parseHostMessage('{"type":"ready","host":"127.0.0.1","port":5672,"dataDir":null,"pid":1,"httpPort":15672}')).toMatchObject({ httpPort: 15672 })
  })
})
