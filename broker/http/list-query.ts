/**
 * The query parameters RabbitMQ's list endpoints accept: sort, sort_reverse, columns, and pagination
 * (page, page_size, name, use_regex), which wraps the result in {items, page, page_count, ...}.
 */
import { badRequest } from './errors'

const MAX_PAGE_SIZE = 500

function at(item: unknown, path: string[]): unknown {
  let value = item
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0
  if (a === undefined || a === null) return -1
  if (b === undefined || b === null) return 1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}

/** Column paths come from the query string: never walk into or write through an object's prototype. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

function pick(item: unknown, columns: string[][]): unknown {
  if (item === null || typeof item !== 'object') return item
  const out: Record<string, unknown> = {}
  for (const path of columns) {
    if (path.some((key) => UNSAFE_KEYS.has(key))) continue
    const value = at(item, path)
    if (value === undefined) continue
    let target = out
    path.slice(0, -1).forEach((key) => {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {}
      target = target[key] as Record<string, unknown>
    })
    target[path[path.length - 1]] = value
  }
  return out
}

export function applyListQuery(all: unknown[], query: URLSearchParams): unknown {
  let list = all
  const sort = query.get('sort')
  if (sort) {
    const path = sort.split('.')
    list = [...list].sort((a, b) => compare(at(a, path), at(b, path)))
  } else if (list.every((item) => item !== null && typeof item === 'object' && 'name' in (item as object))) {
    list = [...list].sort((a, b) => compare(at(a, ['vhost']), at(b, ['vhost'])) || compare(at(a, ['name']), at(b, ['name'])))
  }
  if (query.get('sort_reverse') === 'true') list = [...list].reverse()
  const columns = query.get('columns')
  const pickColumns = (values: unknown[]) => (columns ? values.map((item) => pick(item, columns.split(',').filter(Boolean).map((column) => column.split('.')))) : values)

  const pageParam = query.get('page')
  if (pageParam === null) return pickColumns(list)
  const page = Number(pageParam)
  const pageSize = Number(query.get('page_size') ?? 100)
  if (!Number.isInteger(page) || page < 1) throw badRequest(`page must be a positive integer, got '${pageParam}'`)
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw badRequest(`page_size must be between 1 and ${MAX_PAGE_SIZE}`)
  const total = list.length
  const name = query.get('name')
  if (name) {
    let matches: (value: string) => boolean
    if (query.get('use_regex') === 'true') {
      let regex: RegExp
      try {
        regex = new RegExp(name)
      } catch {
        throw badRequest(`invalid regular expression '${name}'`)
      }
      matches = (value) => regex.test(value)
    } else matches = (value) => value.includes(name)
    list = list.filter((item) => matches(String(at(item, ['name']) ?? '')))
  }
  const pageCount = Math.max(1, Math.ceil(list.length / pageSize))
  if (page > pageCount && list.length > 0) throw badRequest(`page ${page} is beyond the last page, ${pageCount}`)
  const items = pickColumns(list.slice((page - 1) * pageSize, page * pageSize))
  return { filtered_count: list.length, item_count: items.length, items, page, page_count: pageCount, page_size: pageSize, total_count: total }
}
