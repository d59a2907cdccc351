// Refused logins, as RabbitMQ handles them: connection.close 403 ACCESS_REFUSED with RabbitMQ's safe text for clients
// with the authentication_failure_close capability (amqplib, pika and rabbitmq-c all send it), a plain socket close
// for the others; a log line naming the user, the peer and the mechanism, never the password — checked on the
// broker's own logger output for SASL PLAIN, AMQPLAIN, malformed responses and HTTP basic auth. `guest` from
// loopback only, over AMQP and HTTP, with a real non-loopback address of this machine when it has one.
import { networkInterfaces } from 'node:os'
import amqp, { credentials } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { Enc, methodFrame, PROTOCOL_HEADER, RawClient } from '../helpers/raw'
import { waitFor } from '../helpers/broker'

/** Distinctive passwords: if any of them shows up in a log line, the test fails. */
const SECRET = 'S3cret-pa55word-never-logged'
const WRONG = 'Wr0ng-pa55word-never-logged'

const lines: string[] = []
const logger = {
  info: (m: string) => void lines.push(`info ${m}`),
  warn: (m: string) => void lines.push(`warn ${m}`),
  error: (m: string) => void lines.push(`error ${m}`),
}
let broker: BrokerHandle
const b64 = (text: string) => Buffer.from(text).toString('base64')

/** A non-loopback IPv4 address of this machine (connecting to it from here is not loopback), if any. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

beforeAll(async () => {
  // AMQP on every interface (as RabbitMQ), the HTTP API on every interface too so that guest's rule is what refuses it
  broker = await startBroker({ port: 0, host: '0.0.0.0', httpPort: 0, httpHost: '0.0.0.0', logger })
  broker.core.putUser('alice', SECRET, ['management'])
  broker.core.setPermission({ user: 'alice', vhost: '/', configure: '.*', write: '.*', read: '.*' })
})
afterAll(async () => {
  await broker?.close()
})

/** The log lines written while `run` ran. */
async function logged(run: () => Promise<unknown>, settle: (fresh: string[]) => boolean = (fresh) => fresh.length > 0): Promise<string[]> {
  const from = lines.length
  await run()
  await waitFor(() => settle(lines.slice(from)), 3_000)
  return lines.slice(from)
}

function expectNoSecrets(all: string[]): void {
  for (const line of all) {
    for (const secret of [SECRET, WRONG, b64(`alice:${WRONG}`), b64(`alice:${SECRET}`)]) expect(line).not.toContain(secret)
  }
}

async function refusal(url: string, options?: object): Promise<Error & { code?: number }> {
  return amqp.connect(url, options).then(
    async (c) => {
      await c.close()
      throw new Error('connected with wrong credentials')
    },
    (e: Error) => e,
  )
}

describe('refused AMQP logins', () => {
  it('PLAIN: 403 ACCESS_REFUSED with RabbitMQ\'s text; the log names user, peer and mechanism, not the password', async () => {
    let error: Error | undefined
    const fresh = await logged(async () => {
      error = await refusal(`amqp://alice:${WRONG}@127.0.0.1:${broker.port}`)
    })
    expect(error!.message).toContain('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.')
    expect(error!.message).toContain('403')
    expect(fresh).toHaveLength(1)
    expect(fresh[0]).toMatch(/^warn Error on AMQP connection 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(state: starting\): PLAIN login refused: user 'alice' - invalid credentials$/)
    expectNoSecrets(lines)
  })

  it('AMQPLAIN: the same refusal and log line, without the password', async () => {
    let error: Error | undefined
    const fresh = await logged(async () => {
      error = await refusal(`amqp://127.0.0.1:${broker.port}`, { credentials: credentials.amqplain('alice', WRONG) })
    })
    expect(error!.message).toContain('ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN.')
    expect(fresh[0]).toMatch(/AMQPLAIN login refused: user 'alice' - invalid credentials$/)
    expectNoSecrets(lines)
  })

  it('an unknown user is refused the same way (no hint whether the user exists)', async () => {
    const fresh = await logged(async () => {
      const error = await refusal(`amqp://mallory:${WRONG}@127.0.0.1:${broker.port}`)
      expect(error.message).toContain('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.')
    })
    expect(fresh[0]).toMatch(/PLAIN login refused: user 'mallory' - invalid credentials$/)
    expectNoSecrets(lines)
  })

  it('the right password logs in, and nothing about it is logged with the password', async () => {
    const conn = await amqp.connect(`amqp://alice:${SECRET}@127.0.0.1:${broker.port}`)
    await conn.close()
    expectNoSecrets(lines)
  })

  it('a malformed PLAIN response (extra field holding the password) is refused and not echoed to the log', async () => {
    const raw = await RawClient.connect(broker.port)
    try {
      raw.write(PROTOCOL_HEADER)
      await raw.expectMethod(10, 10)
      const fresh = await logged(async () => {
        raw.write(methodFrame(0, 10, 11, new Enc().table({ capabilities: { authentication_failure_close: true } }).shortstr('PLAIN').longstr(`\0alice\0${WRONG}\0${SECRET}`).shortstr('en_US').build()))
        const close = await raw.expectClose()
        expect(close.replyCode).toBe(403)
        expect(close.replyText).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.')
        raw.sendConnectionCloseOk()
        await raw.waitEnd()
      })
      expect(fresh[0]).toMatch(/PLAIN login refused: malformed response$/)
      expectNoSecrets(lines)
    } finally {
      raw.destroy()
    }
  })

  it('a client without authentication_failure_close gets no close frame, only the socket closed (RabbitMQ)', async () => {
    const raw = await RawClient.connect(broker.port)
    try {
      raw.write(PROTOCOL_HEADER)
      await raw.expectMethod(10, 10)
      raw.write(methodFrame(0, 10, 11, new Enc().table({ product: 'old client' }).shortstr('PLAIN').longstr(`\0alice\0${WRONG}`).shortstr('en_US').build()))
      await raw.waitEnd()
      expect(await raw.nextFrame(100)).toBeUndefined()
      expectNoSecrets(lines)
    } finally {
      raw.destroy()
    }
  })

  it('a login name with a line break cannot forge a log line', async () => {
    const fresh = await logged(() => refusal(`amqp://${encodeURIComponent('eve\nwarn forged line')}:x@127.0.0.1:${broker.port}`))
    expect(fresh).toHaveLength(1)
    expect(fresh[0]).not.toContain('\n')
    expect(fresh[0]).toContain("user 'eve?warn forged line'")
  })
})

describe('refused HTTP basic auth', () => {
  const api = (path: string, authorization?: string) =>
    fetch(`http://127.0.0.1:${broker.httpPort}${path}`, { headers: authorization ? { authorization } : {} })

  it('401 Login failed; the log names the user and the peer, never the password or the header', async () => {
    let response: Response | undefined
    const fresh = await logged(async () => {
      response = await api('/api/overview', `Basic ${b64(`alice:${WRONG}`)}`)
    })
    expect(response!.status).toBe(401)
    expect(await response!.json()).toEqual({ error: 'not_authorized', reason: 'Login failed' })
    expect(fresh).toEqual([`warn HTTP access denied: user 'alice' - invalid credentials (peer 127.0.0.1, basic auth)`])
    expectNoSecrets(lines)
    expect((await api('/api/whoami', `Basic ${b64(`alice:${SECRET}`)}`)).status).toBe(200)
    expectNoSecrets(lines)
  })
})

describe('guest from loopback only', () => {
  it('guest logs in over loopback (AMQP and HTTP)', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    await conn.close()
    expect((await fetch(`http://127.0.0.1:${broker.httpPort}/api/whoami`, { headers: { authorization: `Basic ${b64('guest:guest')}` } })).status).toBe(200)
  })

  it.skipIf(!externalAddress)('guest from a non-loopback address: AMQP 403 and a log line; HTTP 401 "User can only log in via localhost"', async () => {
    const fresh = await logged(async () => {
      const error = await refusal(`amqp://guest:guest@${externalAddress}:${broker.port}`)
      expect(error.message).toContain('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.')
    })
    expect(fresh[0]).toContain(`Error on AMQP connection ${externalAddress}:`)
    expect(fresh[0]).toMatch(/PLAIN login refused: user 'guest' can only connect via localhost$/)
    // another user with a password may connect from there
    const conn = await amqp.connect(`amqp://alice:${SECRET}@${externalAddress}:${broker.port}`)
    await conn.close()

    const response = await fetch(`http://${externalAddress}:${broker.httpPort}/api/whoami`, { headers: { authorization: `Basic ${b64('guest:guest')}` } })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'not_authorised', reason: 'User can only log in via localhost' })
    expect((await fetch(`http://${externalAddress}:${broker.httpPort}/api/whoami`, { headers: { authorization: `Basic ${b64(`alice:${SECRET}`)}` } })).status).toBe(200)
  })
})
