/**
 * Counts the bytes of message bodies the broker holds, and tells when it crosses the high watermark, so
 * connections stop reading from publishers (RabbitMQ's memory alarm, vm_memory_high_watermark) until consumers
 * catch up.
 */
export class MemoryAccount {
  private bytes = 0
  private alarmed = false
  private readonly listeners = new Set<(alarmed: boolean) => void>()

  constructor(readonly highWatermark: number) {}

  get used(): number {
    return this.bytes
  }

  get alarm(): boolean {
    return this.alarmed
  }

  add(size: number): void {
    this.bytes += size
    if (!this.alarmed && this.bytes > this.highWatermark) this.set(true)
  }

  remove(size: number): void {
    this.bytes -= size
    // hysteresis: resume below 90% so publishers do not flap around the line
    if (this.alarmed && this.bytes < this.highWatermark * 0.9) this.set(false)
  }

  onChange(listener: (alarmed: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(alarmed: boolean): void {
    this.alarmed = alarmed
    for (const listener of this.listeners) listener(alarmed)
  }
}
