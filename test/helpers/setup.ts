// Per-file broker lifecycle for integration tests.
import { afterAll, afterEach, beforeAll } from 'vitest'
import { startTestBroker, type TestBroker } from './broker'
import { Cleanup, closeAllConnections } from './amqp'

export interface BrokerContext {
  broker: TestBroker
  readonly url: string
  cleanup: Cleanup
}

/** Starts one broker for the test file (or uses WARREN_TEST_AMQP_URL), closes connections after each test. */
export function useBroker(opts: { persistent?: boolean } = {}): BrokerContext {
  const ctx = {
    broker: undefined as unknown as TestBroker,
    cleanup: new Cleanup(),
    get url() {
      return ctx.broker.url
    },
  }
  beforeAll(async () => {
    ctx.broker = await startTestBroker(opts)
  })
  afterEach(async () => {
    await closeAllConnections()
    if (ctx.broker) await ctx.cleanup.run(ctx.broker.url)
  })
  afterAll(async () => {
    await ctx.broker?.close()
  })
  return ctx
}
