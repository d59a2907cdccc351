/**
 * The console's dead-letters area: its share of the contract's handlers (see ../context.ts).
 *
 * scan → finds the dead-letter queues (discovery.ts) and reads their messages with the shared backend's browse
 * (a peek on the embedded broker, get + requeue on RabbitMQ), cached here until the next scan; list/get/dryRun/
 * export work on that cache; replay and delete run as jobs (jobs.ts) over their own AMQP connection; every change
 * goes to the audit log (audit.ts).
 */
import { randomUUID } from 'node:crypto'
import type { DeadLetterCommands, DeadLetterFilter, DeadLetterJob, DeadLetterMessage, DeadLetterQueue, DeadLetterRef, DeadLetterScan, DryRunItem, DryRunResult, ReplayRequest } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'
import { amqpConnectUrl, amqpError, encodeBody, MAX_REQUEUE_BROWSE, ManagementHttp, publishOptions } from '../management-backend'
import { ConsoleError } from '../profiles'
import amqp from 'amqplib'
import { AuditLog } from './audit'
import { deadLetterTargets, loadTopology, route } from './discovery'
import { exportLines, parseExport } from './export-format'
import { compileFilter, groupDeadLetters, timeRange, type Filterable } from './filter'
import { DeadLetterJobRunner, replayRoute, targetText } from './jobs'
import { describeDeadLetter, isDeadLetter, parseDeaths, typedHeaders } from './model'

type Stored = DeadLetterMessage & { body: Buffer }

/** The most messages a scan reads per queue on the embedded broker (RabbitMQ: MAX_REQUEUE_BROWSE). */
export const EMBEDDED_SCAN_CAP = 20_000
const PEEK_FOR_X_DEATH = 20
const MAX_DEEP_QUEUES = 300
const PREVIEW_BYTES = 512

export const MECHANISM =
  'Replay and delete use AMQP: the job consumes the dead-letter queue with manual acks, republishes each chosen message on a ' +
  'publisher-confirm channel (mandatory), and acks it only once the broker confirmed the republish; messages it does not act on ' +
  'are requeued to their place (and marked redelivered). A dropped connection or a crash leaves every message in the dead-letter ' +
  'queue or delivered — at least once, never lost.'

interface Cache {
  profileId: string
  scan: DeadLetterScan
  messages: Map<string, Stored[]>
  /** queues found by x-death only (no DLX routes there): act only on their dead letters */
  deadOnly: Set<string>
}

export function createDeadLetterArea(ctx: ConsoleContext): ConsoleArea<keyof DeadLetterCommands> {
  const audit = new AuditLog(ctx.db)
  let cache: Cache | undefined
  const jobs = new Map<string, DeadLetterJobRunner>()

  const vhostOf = (v?: string): string => v || ctx.activeTarget().vhost || '/'
  const profileName = (): string => {
    try {
      return ctx.profiles.get(ctx.activeTarget().profileId).name
    } catch {
      return ctx.activeTarget().profileId
    }
  }

  function record(e: Omit<Parameters<AuditLog['record']>[0], 'profileId' | 'profileName'>): void {
    try {
      audit.record({ ...e, profileId: ctx.activeTarget().profileId, profileName: profileName() })
    } catch (err) {
      ctx.log('error', `dead-letter audit log write failed: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  async function readQueue(vhost: string, queue: string, cap: number): Promise<{ messages: Stored[]; total: number; notice?: string }> {
    const backend = ctx.backend()
    const out: Stored[] = []
    let total = 0
    let notice: string | undefined
    for (let offset = 0; offset < cap; ) {
      const page = await backend.browse({ vhost, queue, offset, limit: Math.min(1000, cap - offset) })
      total = page.total
      notice = page.notice
      for (const m of page.messages) {
        const body = Buffer.from(m.payloadBase64, 'base64')
        out.push(describeDeadLetter({ vhost, queue, index: m.index, exchange: m.exchange, routingKey: m.routingKey, redelivered: m.redelivered, properties: m.properties, body }))
      }
      if (page.messages.length === 0 || page.messages.length < Math.min(1000, cap - offset)) break
      offset += page.messages.length
    }
    return { messages: out, total: Math.max(total, out.length), notice }
  }

  async function scan(req: { vhost?: string; deep?: boolean }): Promise<DeadLetterScan> {
    const target = ctx.activeTarget()
    const vhost = vhostOf(req.vhost)
    const http = new ManagementHttp(target)
    const [topo, about] = await Promise.all([loadTopology(http, vhost), http.get('/api/overview').catch(() => ({}))])
    const productName = String((about as { product_name?: unknown }).product_name ?? '') || 'RabbitMQ'
    // the shared backend peeks exactly when the profile is the embedded broker
    const peek = target.embedded
    const overview = { product: target.embedded ? 'Warren' : productName, browseMode: peek ? ('peek' as const) : ('requeue' as const) }
    const cap = peek ? EMBEDDED_SCAN_CAP : MAX_REQUEUE_BROWSE
    const candidates = deadLetterTargets(topo)
    const messages = new Map<string, Stored[]>()
    const queues: DeadLetterQueue[] = []
    let browseNotice: string | undefined
    const deadOnly = new Set<string>()

    // queues not known as dead-letter queues: a few messages each, looking for x-death (a peek only, unless asked)
    if (peek || req.deep) {
      const others = [...topo.queues.values()].filter((q) => !candidates.has(q.name) && q.messages > 0).slice(0, MAX_DEEP_QUEUES)
      for (const q of others) {
        const page = await ctx.backend().browse({ vhost, queue: q.name, offset: 0, limit: PEEK_FOR_X_DEATH })
        if (page.messages.some((m) => isDeadLetter({ properties: m.properties, deaths: parseDeaths(m.properties.headers), deathTime: parseDeaths(m.properties.headers)[0]?.time }))) candidates.set(q.name, { dlxs: new Set(), sources: new Set(), byName: false })
      }
    }
    for (const [name, evidence] of candidates) {
      const facts = topo.queues.get(name)
      if (!facts) continue
      const read = await readQueue(vhost, name, cap)
      browseNotice ??= read.notice
      const hasDeaths = read.messages.some(isDeadLetter)
      // a queue found only by its name, holding no dead letters, is not one
      if (!evidence.dlxs.size && !hasDeaths) continue
      // in a queue that no dead-letter exchange feeds, only the dead letters among its messages are shown and acted on
      messages.set(name, evidence.dlxs.size ? read.messages : read.messages.filter(isDeadLetter))
      if (!evidence.dlxs.size) deadOnly.add(name)
      const ev: DeadLetterQueue['evidence'] = []
      if (evidence.dlxs.size) ev.push('dlx-target')
      if (hasDeaths) ev.push('x-death')
      if (evidence.byName) ev.push('name')
      queues.push({
        vhost,
        name,
        messages: Math.max(read.total, facts.messages),
        scanned: read.messages.length,
        truncated: read.messages.length < Math.max(read.total, facts.messages),
        evidence: ev,
        deadLetterExchanges: [...evidence.dlxs].sort(),
        sources: [...evidence.sources].sort(),
      })
    }
    queues.sort((a, b) => b.messages - a.messages || a.name.localeCompare(b.name))
    const result: DeadLetterScan = {
      vhost,
      product: overview.product,
      browseMode: overview.browseMode,
      mechanism: MECHANISM,
      browseNotice: peek ? 'Warren peeks: scanning takes nothing and changes nothing.' : browseNotice ?? 'RabbitMQ cannot peek: scanning uses get + requeue (messages are marked redelivered).',
      scanCap: cap,
      queues,
      scannedAt: Date.now(),
    }
    cache = { profileId: target.profileId, scan: result, messages, deadOnly }
    return result
  }

  async function cached(vhost?: string): Promise<Cache> {
    const v = vhostOf(vhost)
    if (!cache || cache.profileId !== ctx.activeTarget().profileId || cache.scan.vhost !== v) await scan({ vhost: v })
    return cache!
  }

  function matching(c: Cache, filter: DeadLetterFilter | undefined): Stored[] {
    const pred = compileFilter(filter)
    const out: Stored[] = []
    for (const list of c.messages.values()) for (const m of list) if (pred(m)) out.push(m)
    return out
  }

  function light(m: Stored): DeadLetterMessage {
    const { body, ...rest } = m
    const truncated = body.length > PREVIEW_BYTES
    return { ...rest, payloadBase64: truncated ? body.subarray(0, PREVIEW_BYTES).toString('base64') : rest.payloadBase64, payloadTruncated: truncated }
  }

  function full(m: Stored): DeadLetterMessage {
    const { body: _body, ...rest } = m
    return rest
  }

  function bySelection(selection: DeadLetterRef[]): Map<string, Map<string, number>> {
    const map = new Map<string, Map<string, number>>()
    for (const s of selection) {
      if (typeof s?.queue !== 'string' || typeof s.fingerprint !== 'string') throw new ConsoleError('INVALID', 'a selection holds {queue, fingerprint} items')
      let q = map.get(s.queue)
      if (!q) map.set(s.queue, (q = new Map()))
      q.set(s.fingerprint, (q.get(s.fingerprint) ?? 0) + 1)
    }
    return map
  }

  /** the messages a request means, from the scan (for dry runs, estimates, exports) */
  function chosen(c: Cache, req: { selection?: DeadLetterRef[]; filter?: DeadLetterFilter }): Stored[] {
    if (req.selection) {
      const want = bySelection(req.selection)
      const out: Stored[] = []
      for (const [queue, fps] of want) {
        for (const m of c.messages.get(queue) ?? []) {
          const n = fps.get(m.fingerprint) ?? 0
          if (n > 0) {
            fps.set(m.fingerprint, n - 1)
            out.push(m)
          }
        }
      }
      return out
    }
    return matching(c, req.filter)
  }

  function queuesOf(c: Cache, req: { selection?: DeadLetterRef[]; filter?: DeadLetterFilter }): string[] {
    if (req.selection) return [...new Set(req.selection.map((s) => s.queue))]
    const scanned = c.scan.queues.map((q) => q.name)
    return req.filter?.queues?.length ? req.filter.queues : scanned
  }

  function startJob(action: 'replay' | 'delete', req: ReplayRequest | { vhost?: string; selection?: DeadLetterRef[]; filter?: DeadLetterFilter }, c: Cache): DeadLetterJob {
    if (!req.selection && !req.filter) throw new ConsoleError('INVALID', 'give a selection or a filter ({} for every message)')
    if (req.selection && req.selection.length === 0) throw new ConsoleError('INVALID', 'the selection is empty')
    const target = ctx.activeTarget()
    const vhost = vhostOf(req.vhost)
    const replay = action === 'replay' ? (req as ReplayRequest) : undefined
    let edit: { body?: Buffer; headers?: Record<string, unknown> } | undefined
    if (replay?.edit && (replay.edit.body !== undefined || replay.edit.headers !== undefined)) {
      if (!req.selection || req.selection.length !== 1) throw new ConsoleError('INVALID', 'editing is for replaying one message')
      edit = {}
      if (replay.edit.body !== undefined) edit.body = encodeBody({ body: replay.edit.body, bodyEncoding: replay.edit.bodyEncoding ?? 'text' })
      if (replay.edit.headers !== undefined) edit.headers = typedHeaders(replay.edit.headers)
    }
    if (replay && !replay.target) throw new ConsoleError('INVALID', 'a replay needs a target')
    if (replay?.target.kind === 'custom' && typeof replay.target.exchange !== 'string') throw new ConsoleError('INVALID', 'choose an exchange')
    const queues = queuesOf(c, req)
    if (!queues.length) throw new ConsoleError('INVALID', 'no dead-letter queue to act on (scan first)')
    const base = req.filter ? compileFilter({ ...req.filter, queues: undefined }) : undefined
    const deadOnly = new Set(c.deadOnly)
    const filter = base ? (m: Filterable) => (!deadOnly.has(m.queue) || isDeadLetter(m)) && base(m) : undefined
    const fullyScanned = c.scan.queues.filter((q) => queues.includes(q.name)).every((q) => !q.truncated)
    const estimate = req.selection ? req.selection.length : fullyScanned || (req.filter && Object.keys(req.filter).some((k) => k !== 'queues')) ? chosen(c, req).length : c.scan.queues.filter((q) => queues.includes(q.name)).reduce((a, q) => a + q.messages, 0)
    const id = randomUUID().slice(0, 8)
    const runner = new DeadLetterJobRunner({
      id,
      action,
      vhost,
      queues,
      url: amqpConnectUrl(target, vhost),
      username: target.username,
      selection: req.selection ? bySelection(req.selection) : undefined,
      filter: req.selection ? undefined : filter,
      target: replay?.target,
      deathHeaders: replay?.deathHeaders ?? 'keep',
      rateLimit: replay?.rateLimit,
      edit,
      estimate,
      onProgress: (job) => ctx.emit('deadLetters.job', job),
    })
    jobs.set(id, runner)
    // keep the live jobs and the last 50 finished ones
    const finished = [...jobs.values()].filter((r) => r.job.state !== 'running' && r.job.state !== 'paused')
    for (const r of finished.slice(0, Math.max(0, finished.length - 50))) jobs.delete(r.job.id)
    const profileId = target.profileId
    void runner.done.then((job) => {
      const n = action === 'replay' ? job.replayed : job.deleted
      record({ vhost, action, queues, count: n, target: job.target, outcome: job.summary, jobId: id })
      if (cache?.profileId === profileId) cache = undefined
      ctx.emit('deadLetters.changed', { vhost, queues })
    })
    return { ...runner.job }
  }

  function runner(id: string): DeadLetterJobRunner {
    const r = jobs.get(id)
    if (!r) throw new ConsoleError('NOT_FOUND', `no dead-letter job ${id}`)
    return r
  }

  async function dryRun(req: ReplayRequest): Promise<DryRunResult> {
    const c = await cached(req.vhost)
    const topo = await loadTopology(new ManagementHttp(ctx.activeTarget()), c.scan.vhost)
    const items: DryRunItem[] = []
    const dest = new Map<string, DryRunResult['destinations'][number]>()
    let unroutable = 0
    for (const m of chosen(c, req)) {
      let r: { exchange: string; routingKeys: string[] }
      try {
        r = replayRoute(req.target, m.properties)
      } catch {
        r = { exchange: '', routingKeys: [] }
      }
      const queues = r.routingKeys.length ? route(topo, r.exchange, r.routingKeys, (m.properties.headers ?? {}) as Record<string, never>) : []
      if (!queues.length) unroutable++
      items.push({ queue: m.queue, fingerprint: m.fingerprint, index: m.index, exchange: r.exchange, routingKeys: r.routingKeys, queues })
      const key = JSON.stringify([r.exchange, r.routingKeys, queues])
      const d = dest.get(key)
      if (d) d.count++
      else dest.set(key, { exchange: r.exchange, routingKeys: r.routingKeys, queues, count: 1 })
    }
    const truncated = c.scan.queues.some((q) => q.truncated)
    return {
      items: items.slice(0, 5000),
      destinations: [...dest.values()].sort((a, b) => b.count - a.count),
      unroutable,
      notice: truncated ? `Based on the scanned messages (at most ${c.scan.scanCap} per queue); the replay itself reads the whole queue.` : undefined,
    }
  }

  async function importFile(req: { vhost?: string; content: string; queue?: string }): Promise<{ imported: number }> {
    ctx.writable()
    const target = ctx.activeTarget()
    const { messages } = parseExport(req.content)
    const vhost = vhostOf(req.vhost)
    let connection: amqp.ChannelModel | undefined
    let channelError: unknown
    let returned = 0
    try {
      connection = await amqp.connect(amqpConnectUrl(target, vhost), { timeout: 10_000, clientProperties: { connection_name: 'warren-dead-letters-import' } })
      connection.on('error', () => {})
      const ch = await connection.createConfirmChannel()
      ch.on('error', (e) => (channelError = e))
      ch.on('return', () => returned++)
      for (const m of messages) {
        const props = { ...m.properties, headers: typedHeaders(m.properties.headers) as never }
        if (props.userId && props.userId !== target.username) delete props.userId
        if (!ch.publish('', req.queue || m.queue, m.body, publishOptions(props))) await new Promise((r) => ch.once('drain', r))
        if (channelError) throw channelError
      }
      await ch.waitForConfirms()
      if (channelError) throw channelError
    } catch (e) {
      throw amqpError(channelError ?? e)
    } finally {
      await connection?.close().catch(() => {})
    }
    const queues = req.queue ? [req.queue] : [...new Set(messages.map((m) => m.queue))]
    const imported = messages.length - returned
    record({ vhost, action: 'import', queues, count: imported, outcome: returned ? `${imported} imported, ${returned} unroutable (no such queue)` : `${imported} imported` })
    cache = undefined
    ctx.emit('deadLetters.changed', { vhost, queues })
    if (returned) throw new ConsoleError('UNROUTABLE', `${returned} of ${messages.length} messages reached no queue (does the queue exist?)`)
    return { imported }
  }

  return {
    handlers: {
      'deadLetters.scan': (req) => scan(req ?? {}),
      'deadLetters.list': async (req) => {
        const c = await cached(req.vhost)
        const all = matching(c, req.filter)
        const offset = Math.max(0, Math.floor(req.offset ?? 0))
        const limit = Math.max(1, Math.min(5000, Math.floor(req.limit ?? 500)))
        const queues = req.filter?.queues?.length ? new Set(req.filter.queues) : undefined
        let total = 0
        for (const [q, list] of c.messages) if (!queues || queues.has(q)) total += list.length
        return { total, matched: all.length, offset, messages: all.slice(offset, offset + limit).map(light), groups: groupDeadLetters(all), ...timeRange(all) }
      },
      'deadLetters.get': async (req) => {
        const c = await cached(req.vhost)
        const m = (c.messages.get(req.queue) ?? []).find((x) => x.fingerprint === req.fingerprint)
        if (!m) throw new ConsoleError('NOT_FOUND', `no such message in ${req.queue} (it may have left the queue: scan again)`)
        return full(m)
      },
      'deadLetters.replay': async (req) => {
        ctx.writable()
        return startJob('replay', req, await cached(req.vhost))
      },
      'deadLetters.dryRun': (req) => dryRun(req),
      'deadLetters.delete': async (req) => {
        ctx.writable()
        return startJob('delete', req, await cached(req.vhost))
      },
      'deadLetters.purge': async (req) => {
        const backend = ctx.writable()
        const vhost = vhostOf(req.vhost)
        const before = await backend.getQueue({ vhost, name: req.queue }).then((q) => q.messages).catch(() => 0)
        await backend.purgeQueue({ vhost, name: req.queue })
        record({ vhost, action: 'purge', queues: [req.queue], count: before, outcome: `purged (about ${before} messages)` })
        cache = undefined
        ctx.emit('deadLetters.changed', { vhost, queues: [req.queue] })
      },
      'deadLetters.jobs': () => [...jobs.values()].map((r) => ({ ...r.job, summary: r.job.summary })).sort((a, b) => b.startedAt - a.startedAt),
      'deadLetters.job.pause': ({ id }) => {
        const r = runner(id)
        r.pause()
        return { ...r.job }
      },
      'deadLetters.job.resume': ({ id }) => {
        const r = runner(id)
        r.resume()
        return { ...r.job }
      },
      'deadLetters.job.cancel': async ({ id }) => {
        const r = runner(id)
        r.cancel()
        return { ...(await r.done) }
      },
      'deadLetters.export': async (req) => {
        const c = await cached(req.vhost)
        const list = chosen(c, req)
        const content = exportLines(c.scan.vhost, list)
        const stamp = new Date().toISOString().replace(/[:.]/g, '-')
        record({ vhost: c.scan.vhost, action: 'export', queues: [...new Set(list.map((m) => m.queue))], count: list.length, outcome: `${list.length} exported` })
        return { fileName: `dead-letters-${stamp}.jsonl`, content, count: list.length }
      },
      'deadLetters.import': (req) => importFile(req),
      'deadLetters.audit': (req) => audit.list(req?.limit ?? 200),
    },
    profileChanged() {
      cache = undefined
      for (const r of jobs.values()) void r.abort('stopped: the active profile changed (unfinished messages stay in their dead-letter queue)')
    },
    async close() {
      await Promise.all([...jobs.values()].map((r) => r.abort('stopped: the console is closing (unfinished messages stay in their dead-letter queue)').then(() => r.done)))
    },
  }
}

export { targetText, type Filterable }
