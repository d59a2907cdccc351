import type { FieldTable } from '../../protocol'
import type { Binding } from '../binding'
import type { RoutingTable } from './exchange-type'

interface TrieNode {
  children: Map<string, TrieNode>
  bindings: Set<Binding>
}

const newNode = (): TrieNode => ({ children: new Map(), bindings: new Set() })

/** The empty key has no words at all, while "a." has two, the second empty (RabbitMQ's split_topic_key). */
const wordsOf = (key: string): string[] => (key === '' ? [] : key.split('.'))

/**
 * topic: binding keys are dot-separated words where `*` matches exactly one word and `#` zero or more
 * (AMQP 0-9-1 §3.1.3.3). Bindings live in a trie of words, as in RabbitMQ's rabbit_exchange_type_topic, so routing
 * cost follows the routing key's length, not the number of bindings.
 */
export class TopicRoutingTable implements RoutingTable {
  private readonly root = newNode()

  add(binding: Binding): void {
    let node = this.root
    for (const word of wordsOf(binding.routingKey)) {
      let child = node.children.get(word)
      if (!child) node.children.set(word, (child = newNode()))
      node = child
    }
    node.bindings.add(binding)
  }

  remove(binding: Binding): void {
    const path: TrieNode[] = [this.root]
    const words = wordsOf(binding.routingKey)
    for (const word of words) {
      const child = path[path.length - 1].children.get(word)
      if (!child) return
      path.push(child)
    }
    path[path.length - 1].bindings.delete(binding)
    // prune empty branches so removed bindings cost nothing at routing time
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i]
      if (node.bindings.size > 0 || node.children.size > 0) break
      path[i - 1].children.delete(words[i - 1])
    }
  }

  route(routingKey: string, _headers: FieldTable | undefined, matches: Set<Binding>): void {
    this.match(this.root, wordsOf(routingKey), 0, matches)
  }

  private match(node: TrieNode, words: string[], index: number, matches: Set<Binding>): void {
    const hash = node.children.get('#')
    if (hash) {
      // '#' consumes zero or more words: try every split point
      for (let i = index; i <= words.length; i++) this.match(hash, words, i, matches)
    }
    if (index === words.length) {
      for (const binding of node.bindings) matches.add(binding)
      return
    }
    const exact = node.children.get(words[index])
    if (exact) this.match(exact, words, index + 1, matches)
    const star = node.children.get('*')
    if (star) this.match(star, words, index + 1, matches)
  }
}
