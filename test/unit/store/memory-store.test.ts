import { createMemoryStore } from '../../../broker/store'
import { runStoreSuite } from './store-suite'

// The memory store does not persist: no reopen, so the suite checks its cases within one instance.
runStoreSuite('memory', () => ({ open: () => createMemoryStore() }))
