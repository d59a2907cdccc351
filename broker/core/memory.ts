import type { Store, StoreWriteError } from '../store/store'

/**
 * The broker's resource alarms, as RabbitMQ has them: while one is raised, publishing connections get
 * `connection.blocked` and are no longer read until it clears.
 *
 * - Memory (vm_memory_high_watermark): counts the bytes of message bodies the broker holds and raises the alarm when
 *   they cross the high watermark, so publishers stop until consumers catch up.
 * - Disk: raised while the store cannot write (disk full, read-only database, I/O error — see watchStoreWrites), so
 *   publishers stop instead of piling up messages that cannot be made durable.
 */
export class MemoryAccount {
  private bytes = 0
  private memoryAlarm = false
  /** the connection.blocked reason of the disk alarm, while it is raised */
  private diskAlarm: string | undefined
  private readonly listeners = new Set<(alarmed: boolean) => void>()

  constructor(readonly highWatermark: number) {}

  get used(): number {
    return this.bytes
  }

  /** Whether any alarm (memory or disk) is raised. */
  get alarm(): boolean {
    return this.memoryAlarm || this.diskAlarm !== undefined
  }

  get memoryAlarmRaised(): boolean {
    return this.memoryAlarm
  }

  get diskAlarmRaised(): boolean {
    return this.diskAlarm !== undefined
  }

  /** The reason sent with connection.blocked: RabbitMQ's "low on memory" or "low on disk". */
  get reason(): string {
    return this.diskAlarm ?? 'low on memory'
  }

  add(size: number): void {
    this.bytes += size
    if (!this.memoryAlarm && this.bytes > this.highWatermark) this.change(() => (this.memoryAlarm = true))
  }

  remove(size: number): void {
    this.bytes -= size
    // hysteresis: resume below 90% so publishers do not flap around the line
    if (this.memoryAlarm && this.bytes < this.highWatermark * 0.9) this.change(() => (this.memoryAlarm = false))
  }

  /** Raises the disk alarm with a connection.blocked reason, or clears it (undefined). */
  setDiskAlarm(reason: string | undefined): void {
    if (reason === this.diskAlarm) return
    this.change(() => (this.diskAlarm = reason))
  }

  /** Listeners hear when `alarm` goes up or down (not when a second alarm joins one already raised). */
  onChange(listener: (alarmed: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private change(update: () => void): void {
    const before = this.alarm
    update()
    const after = this.alarm
    if (after === before) return
    for (const listener of this.listeners) listener(after)
  }
}

interface AlarmLogger {
  info(message: string): void
  error(message: string): void
}

const BLOCKED_REASON: Record<StoreWriteError['kind'], string> = {
  full: 'low on disk',
  'read-only': 'low on disk (database is read-only)',
  io: 'low on disk (disk write failed)',
}

/**
 * The store-fault path: while the store cannot commit, the disk alarm blocks publishers (publishes already read are
 * nacked by their channels, since their commit failed), and one line says so in the log — one when it starts, one
 * when writes succeed again, never one per message. The store retries by itself; the alarm clears with its first
 * successful commit. Returns an unsubscribe.
 */
export function watchStoreWrites(store: Store, alarms: MemoryAccount, logger: AlarmLogger): () => void {
  return store.onWriteStateChange((failure) => {
    if (failure) {
      const what = failure.kind === 'full' ? 'the disk is full' : failure.kind === 'read-only' ? 'the database is read-only' : 'a disk write failed'
      logger.error(
        `disk alarm: the store cannot write (${what}: ${failure.error.message}). Publishers are blocked (connection.blocked), ` +
          'unconfirmed persistent messages are nacked, confirmed ones are safe; retrying until writes succeed again',
      )
      alarms.setDiskAlarm(BLOCKED_REASON[failure.kind])
    } else {
      logger.info('disk alarm cleared: the store writes again; publishers unblocked')
      alarms.setDiskAlarm(undefined)
    }
  })
}
