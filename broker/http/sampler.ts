/**
 * Rates for the management API (`*_details: {rate}`), computed by sampling counters every few seconds, as RabbitMQ
 * does (collect_statistics_interval, 5 s by default). The broker's hot path only increments integers; this module
 * reads them on a timer and keeps, per object, the last sample and the per-second rates between the last two.
 */
export interface Sampled {
  /** identity of the counted object (queue, channel, connection, vhost...) */
  key: object
  values: number[]
}

interface Sample {
  at: number
  values: number[]
  rates: number[]
}

export class RateSampler {
  private samples = new WeakMap<object, Sample>()
  private timer: NodeJS.Timeout | undefined
  private lastAt: number | undefined

  constructor(
    /** every counted object with its current values, in a fixed order per object */
    private readonly collect: () => Iterable<Sampled>,
    readonly intervalMs = 5_000,
  ) {}

  start(): void {
    if (this.timer) return
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Takes one sample of everything now (also called by the timer). */
  sample(now = Date.now()): void {
    const since = this.lastAt
    this.lastAt = now
    for (const { key, values } of this.collect()) {
      // an object first seen now appeared since the last sample, starting from zero (counters, queue depths and
      // byte counts all start at 0), so what it did in between counts toward its first rate
      const previous = this.samples.get(key) ?? (since === undefined ? undefined : { at: since, values: values.map(() => 0), rates: [] })
      let rates: number[]
      if (!previous || now <= previous.at) rates = values.map(() => 0)
      else {
        const seconds = (now - previous.at) / 1000
        rates = values.map((value, i) => round((value - (previous.values[i] ?? value)) / seconds))
      }
      this.samples.set(key, { at: now, values, rates })
    }
  }

  /** Per-second rate of the value at `index` for an object, 0 until it has two samples. */
  rate(key: object, index: number): number {
    return this.samples.get(key)?.rates[index] ?? 0
  }
}

const round = (rate: number) => Math.round(rate * 10) / 10
