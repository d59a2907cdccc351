import { describe, expect, it } from 'vitest'
import { encodeHostMessage, LineSplitter, parseHostMessage, type HostMessage } from '../../../main/console/host-protocol'

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
