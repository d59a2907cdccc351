import { defineStore } from 'pinia'
import { pagedList } from './paged'
import { call, useUiStore } from './ui'

/** Client connections and their channels. */
export const useClientsStore = defineStore('clients', () => {
  const connections = pagedList('connections.list', 'Listing connections')
  const channels = pagedList('channels.list', 'Listing channels')

  async function close(name: string): Promise<boolean> {
    const r = await call('connections.close', { name, reason: 'Closed from the Warren console' }, `Closing ${name}`)
    if (r.ok) {
      useUiStore().push('success', 'Connection closed', name)
      await Promise.all([connections.load(), channels.load()])
    }
    return r.ok
  }

  return { connections, channels, close }
})
