import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { BrowseMode, BrowsedMessage, PublishRequest, PublishResult } from '../../../main/contract'
import { call, useUiStore } from './ui'

/** The message browser (peek/requeue pages of a queue) and publishing. */
export const useMessagesStore = defineStore('messages', () => {
  const vhost = ref('/')
  const queue = ref('')
  const offset = ref(0)
  const limit = ref(100)
  const messages = ref<BrowsedMessage[]>([])
  const total = ref(0)
  const mode = ref<BrowseMode | undefined>()
  const notice = ref<string | undefined>()
  const loading = ref(false)
  const search = ref('')
  const lastPublish = ref<PublishResult | undefined>()

  const filtered = computed(() => {
    const needle = search.value.trim().toLowerCase()
    if (!needle) return messages.value
    return messages.value.filter((m) => {
      const text = decodeText(m.payloadBase64).toLowerCase()
      return text.includes(needle) || m.routingKey.toLowerCase().includes(needle) || JSON.stringify(m.properties).toLowerCase().includes(needle)
    })
  })

  async function browse(changes: { vhost?: string; queue?: string; offset?: number; limit?: number } = {}): Promise<void> {
    if (changes.vhost !== undefined) vhost.value = changes.vhost
    if (changes.queue !== undefined) queue.value = changes.queue
    if (changes.offset !== undefined) offset.value = Math.max(0, changes.offset)
    if (changes.limit !== undefined) limit.value = changes.limit
    if (!queue.value) return
    loading.value = true
    const r = await call('messages.browse', { vhost: vhost.value, queue: queue.value, offset: offset.value, limit: limit.value }, `Browsing ${queue.value}`)
    loading.value = false
    if (r.ok) {
      messages.value = r.value.messages
      total.value = r.value.total
      mode.value = r.value.mode
      notice.value = r.value.notice
    }
  }

  async function publish(req: PublishRequest): Promise<PublishResult | undefined> {
    const r = await call('messages.publish', req, 'Publishing')
    if (!r.ok) return undefined
    lastPublish.value = r.value
    const ui = useUiStore()
    if (r.value.routed < r.value.published) ui.push('info', 'Published, but not routed', `${r.value.published - r.value.routed} of ${r.value.published} message(s) reached no queue`)
    else ui.push('success', 'Published', `${r.value.published} message(s) routed`)
    return r.value
  }

  return { vhost, queue, offset, limit, messages, total, mode, notice, loading, search, filtered, lastPublish, browse, publish }
})

export function decodeBytes(base64: string): Uint8Array {
  const bin = atob(base64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

export function decodeText(base64: string): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(decodeBytes(base64))
}

export function prettyJson(base64: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(decodeText(base64)), null, 2)
  } catch {
    return undefined
  }
}

/** A classic hex dump: offset, 16 bytes in hex, the printable ones as text. */
export function hexDump(base64: string, maxBytes = 64 * 1024): string {
  const bytes = decodeBytes(base64).subarray(0, maxBytes)
  const lines: string[] = []
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16)
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ')
    const text = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${text}`)
  }
  return lines.join('\n')
}
