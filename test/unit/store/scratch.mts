import { openSqliteStore } from '../../../broker/store/sqlite/sqlite-store'
const s = openSqliteStore({ directory: '/tmp/scr-' + Date.now() })
s.saveExchange({ vhost: '/', name: 'ex2', type: 'fanout', autoDelete: true, internal: true, arguments: Buffer.from([1, 2, 3]) })
await s.flush()
s.deleteExchange('/', 'ex2')
try { console.log(s.loadDefinitions().exchanges) } catch (e) { console.log('ERR', e) }
await new Promise(r => setTimeout(r, 100))
console.log(s.loadDefinitions().exchanges)
