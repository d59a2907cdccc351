import dagre from '@dagrejs/dagre'
import type { NodePosition, TopologyDesign } from '../../../../main/contract'

export const NODE_WIDTH = 190
export const NODE_HEIGHT = 64

const PREDECLARED = new Set(['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace'])

/** The exchanges the canvas shows without the design declaring them: predeclared amq.* ones something refers to. */
export function implicitExchanges(design: TopologyDesign): string[] {
  const declared = new Set(design.exchanges.map((x) => x.name))
  const out = new Set<string>()
  const consider = (name: unknown): void => {
    if (typeof name === 'string' && PREDECLARED.has(name) && !declared.has(name)) out.add(name)
  }
  for (const b of design.bindings) {
    consider(b.source)
    if (b.destinationType === 'exchange') consider(b.destination)
  }
  for (const q of design.queues) consider(q.arguments['x-dead-letter-exchange'])
  for (const x of design.exchanges) consider(x.arguments['alternate-exchange'])
  return [...out]
}

/** Left-to-right layered layout (dagre): publishers' exchanges on the left, queues on the right. */
export function layoutDesign(design: TopologyDesign): Record<string, NodePosition> {
  const g = new dagre.graphlib.Graph({ multigraph: false })
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 110, marginx: 20, marginy: 20 })
  g.setDefaultEdgeLabel(() => ({}))
  const exchanges = [...design.exchanges.map((x) => x.name), ...implicitExchanges(design)]
  for (const name of exchanges) g.setNode(`exchange:${name}`, { width: NODE_WIDTH, height: NODE_HEIGHT })
  for (const q of design.queues) g.setNode(`queue:${q.name}`, { width: NODE_WIDTH, height: NODE_HEIGHT })
  for (const b of design.bindings) {
    const from = `exchange:${b.source}`
    const to = `${b.destinationType}:${b.destination}`
    if (g.hasNode(from) && g.hasNode(to) && from !== to) g.setEdge(from, to)
  }
  // alternate exchanges sit beside their exchange's targets; dead-letter exchanges after their queue
  for (const x of design.exchanges) {
    const ae = x.arguments['alternate-exchange']
    if (typeof ae === 'string' && g.hasNode(`exchange:${ae}`) && ae !== x.name) g.setEdge(`exchange:${x.name}`, `exchange:${ae}`)
  }
  for (const q of design.queues) {
    const dlx = q.arguments['x-dead-letter-exchange']
    if (typeof dlx === 'string' && g.hasNode(`exchange:${dlx}`) && !g.hasEdge(`exchange:${dlx}`, `queue:${q.name}`)) g.setEdge(`queue:${q.name}`, `exchange:${dlx}`)
  }
  dagre.layout(g)
  const out: Record<string, NodePosition> = {}
  for (const id of g.nodes()) {
    const n = g.node(id) as { x: number; y: number } | undefined
    if (n) out[id] = { x: Math.round(n.x - NODE_WIDTH / 2), y: Math.round(n.y - NODE_HEIGHT / 2) }
  }
  return out
}
