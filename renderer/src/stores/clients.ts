import { defineStore } from 'pinia'
import { pagedList } from './paged'
import { call, useUiStore } from './ui'

/** Client connections (and closing them). */
export const useConnectionsStore = defineStore('connections', () => {
  const list = pagedList('connections.list', 'Listing connections')

  async function close(name: string): Promise<boolean> {
    const r = await call('connections.close', { name, reason: 'Closed from the Warren console' }, `Closing ${name}`)
    if (r.ok) {
      useUiStore().push('success', 'Connection closed', name)
      await list.load()
    }
    return r.ok
  }

  return { ...list, close }
})

/** Channels of client connections (closing one: the embedded broker only). */
export const useChannelsStore = defineStore('channels', () => {
  const list = pagedList('channels.list', 'Listing channels')

  async function close(name: string): Promise<boolean> {
    const r = await call('channels.close', { name, reason: 'Closed from the Warren console' }, `Closing ${name}`)
    if (r.ok) {
      useUiStore().push('success', 'Channel closed', name)
      await list.load()
      // the channel leaves the list once the client has answered close-ok
      setTimeout(() => void list.load(), 1000)
    }
    return r.ok
  }

  return { ...list, close }
})
