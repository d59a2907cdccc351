// Conformance of the management API's JSON shapes with RabbitMQ 3.10.8's: for each object kind, every field a real
// RabbitMQ node returns must be present, except Erlang-runtime internals Warren has no equivalent of (listed below).
// The field names were recorded from a real node (test/fixtures/rabbitmq-3.10-api-fields.json: a durable queue with
// one consumer, prefetch 10 and 3 unacked messages). With WARREN_RABBITMQ_HTTP_URL (e.g.
// http://guest:guest@127.0.0.1:15672) the shapes that need no setup are also compared with that live node.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { channel, connect } from '../helpers/amqp'
import { REPO_ROOT, waitFor } from '../helpers/broker'
import { useHttpBroker } from '../helpers/http'

interface Fixture {
  shapes: Record<string, { path: string; keys: string[] }>
}
const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/rabbitmq-3.10-api-fields.json'), 'utf8')) as Fixture

/** Fields of the Erlang runtime or of RabbitMQ features Warren does not have; everything else must be there. */
const NOT_APPLICABLE: Record<string, string[]> = {
  overview: ['churn_rates', 'erlang_full_version', 'erlang_version', 'release_series_support_status'],
  queue: ['backing_queue_status', 'garbage_collection', 'memory', 'reductions', 'reductions_details', 'recoverable_slaves', 'idle_since', 'messages_paged_out', 'message_bytes_paged_out'],
  connection: ['garbage_collection', 'reductions', 'reductions_details', 'recv_cnt', 'send_cnt'],
  channel: ['garbage_collection', 'reductions', 'reductions_details', 'idle_since'],
  node: [
    'cluster_links', 'config_files', 'context_switches', 'context_switches_details', 'db_dir', 'enabled_plugins', 'fd_used_details', 'gc_bytes_reclaimed', 'gc_bytes_reclaimed_details', 'gc_num', 'gc_num_details',
    'io_file_handle_open_attempt_avg_time', 'io_file_handle_open_attempt_avg_time_details', 'io_file_handle_open_attempt_count', 'io_file_handle_open_attempt_count_details', 'io_read_avg_time', 'io_read_avg_time_details',
    'io_read_bytes', 'io_read_bytes_details', 'io_read_count', 'io_read_count_details', 'io_reopen_count', 'io_reopen_count_details', 'io_seek_avg_time', 'io_seek_avg_time_details', 'io_seek_count', 'io_seek_count_details',
    'io_sync_avg_time', 'io_sync_avg_time_details', 'io_sync_count', 'io_sync_count_details', 'io_write_avg_time', 'io_write_avg_time_details', 'io_write_bytes', 'io_write_bytes_details', 'io_write_count', 'io_write_count_details',
    'metrics_gc_queue_length', 'mnesia_disk_tx_count', 'mnesia_disk_tx_count_details', 'mnesia_ram_tx_count', 'mnesia_ram_tx_count_details', 'msg_store_read_count', 'msg_store_read_count_details', 'msg_store_write_count',
    'msg_store_write_count_details', 'net_ticktime', 'proc_used_details', 'queue_index_journal_write_count', 'queue_index_journal_write_count_details', 'queue_index_read_count', 'queue_index_read_count_details',
    'queue_index_write_count', 'queue_index_write_count_details', 'sockets_used_details', 'mem_used_details', 'disk_free', 'disk_free_details', 'os_pid', 'ra_open_file_metrics', 'fd_total', 'proc_total',
    'sockets_total', 'log_files', 'contexts', 'memory', 'being_drained',
    // churn counters (objects created/closed): not counted yet
    'channel_closed', 'channel_closed_details', 'channel_created', 'channel_created_details', 'connection_closed', 'connection_closed_details', 'connection_created', 'connection_created_details',
    'queue_created', 'queue_created_details', 'queue_declared', 'queue_declared_details', 'queue_deleted', 'queue_deleted_details',
  ],
}

const ctx = useHttpBroker()

function missing(kind: string, actual: object, expected: string[]): string[] {
  const skip = new Set(NOT_APPLICABLE[kind] ?? [])
  return expected.filter((key) => !skip.has(key) && !(key in actual))
}

describe('management API field names match RabbitMQ 3.10.8', () => {
  it('every recorded shape', async () => {
    // the state the shapes were recorded with
    const conn = await connect(ctx.b.amqpUrl)
    const ch = await channel(conn)
    await ch.assertQueue('hold-q', { durable: true })
    await ch.prefetch(10)
    for (let i = 0; i < 3; i++) ch.sendToQueue('hold-q', Buffer.from('x'.repeat(10)))
    await ch.consume('hold-q', () => {}, { noAck: false })
    await channel(conn)
    await waitFor(async () => (await ctx.b.get('/api/queues/%2F/hold-q')).body.messages_unacknowledged === 3)

    const report: Record<string, string[]> = {}
    for (const [kind, { path, keys }] of Object.entries(fixture.shapes)) {
      const { status, body } = await ctx.b.get(path)
      expect(status, path).toBe(200)
      const object = Array.isArray(body) ? body[0] : body
      expect(object, `${path} returned no object`).toBeTypeOf('object')
      const absent = missing(kind, object, keys)
      if (absent.length > 0) report[kind] = absent
    }
    expect(report).toEqual({})
    await conn.close()
  })

  const live = process.env.WARREN_RABBITMQ_HTTP_URL
  it.skipIf(!live)('the same shapes as a live RabbitMQ node (WARREN_RABBITMQ_HTTP_URL)', async () => {
    const url = new URL(live!)
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    const report: Record<string, string[]> = {}
    for (const kind of ['overview', 'whoami', 'vhost', 'user', 'permission', 'exchange', 'definitions']) {
      const path = fixture.shapes[kind].path
      const real = await (await fetch(new URL(path, url.origin), { headers: { authorization: auth } })).json()
      const ours = (await ctx.b.get(path)).body
      const absent = missing(kind, Array.isArray(ours) ? ours[0] : ours, Object.keys(Array.isArray(real) ? real[0] : real))
      if (absent.length > 0) report[kind] = absent
    }
    expect(report).toEqual({})
  })
})
