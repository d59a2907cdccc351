/**
 * What the members of a pair publish in the shared data directory, besides the lock:
 * - `<data>/pair/members/<node>.json`: one small descriptor per member (addresses, pid, role, heartbeat), rewritten
 *   atomically (temporary file + rename) by its own member only, about once a second;
 * - `<data>/pair/takeovers.jsonl`: one JSON line per takeover, appended by the member that just took the lock
 *   (so by one writer at a time).
 * Neither decides anything (the lock does, lock.ts); they make the pair visible (GET /api/ha, the console).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { HaMember, HaTakeover } from './status'

/** A member's own record of itself, as written to its descriptor file: what /api/ha lists, with its own role. */
export interface MemberDescriptor extends Omit<HaMember, 'role'> {
  /** 'stopped' is written by a clean shutdown, before the lock is released */
  role: 'active' | 'standby' | 'stopped'
}

export const HEARTBEAT_MS = 1000
/** a descriptor not rewritten for this long belongs to a member that is down */
export const STALE_MS = 4000
const TAKEOVERS_KEPT = 100

export function pairDir(dataDir: string): string {
  return join(dataDir, 'pair')
}

export function lockFile(dataDir: string): string {
  return join(pairDir(dataDir), 'lock.db')
}

function membersDir(dataDir: string): string {
  return join(pairDir(dataDir), 'members')
}

function takeoverFile(dataDir: string): string {
  return join(pairDir(dataDir), 'takeovers.jsonl')
}

/** A node name as a file name: anything but letters, digits, '.', '-', '_' and '@' is percent-encoded. */
function fileName(node: string): string {
  return node.replace(/[^A-Za-z0-9._@-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')) + '.json'
}

export function writeDescriptor(dataDir: string, descriptor: MemberDescriptor): void {
  const dir = membersDir(dataDir)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, fileName(descriptor.name))
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, JSON.stringify(descriptor) + '\n')
  renameSync(temporary, file)
}

export function readDescriptors(dataDir: string): MemberDescriptor[] {
  const dir = membersDir(dataDir)
  if (!existsSync(dir)) return []
  const result: MemberDescriptor[] = []
  for (const entry of readdirSync(dir)) {
    if (!entry.endsWith('.json')) continue
    try {
      const value = JSON.parse(readFileSync(join(dir, entry), 'utf8')) as MemberDescriptor
      if (typeof value.name === 'string' && typeof value.pid === 'number') result.push(value)
    } catch {
      // being replaced right now, or damaged: skipped this time
    }
  }
  return result
}

/** Whether a process with this pid exists on this machine (for display only: the lock decides roles). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The members as GET /api/ha lists them. `self` is the caller's own up-to-date descriptor; `activeNode` is the member
 * the caller knows to hold the lock (itself when active), or undefined when it does not know. Others' roles:
 * 'down' when they stopped, stopped rewriting their descriptor, or (same machine) their process is gone; a stale
 * claim to be active, from a member that does not hold the lock, is shown as down too.
 */
export function memberList(dataDir: string, self: MemberDescriptor, localHostname: string, now = Date.now()): HaMember[] {
  const others = readDescriptors(dataDir).filter((d) => d.name !== self.name)
  const members: HaMember[] = [toMember(self, self.role === 'stopped' ? 'down' : self.role)]
  for (const d of others) {
    let role: HaMember['role'] = d.role === 'stopped' ? 'down' : d.role
    if (now - d.last_seen_at > STALE_MS) role = 'down'
    if (d.hostname === localHostname && !processExists(d.pid)) role = 'down'
    if (role === 'active' && self.role === 'active') role = 'down'
    members.push(toMember(d, role))
  }
  members.sort((a, b) => rank(a.role) - rank(b.role) || a.name.localeCompare(b.name))
  return members
}

function rank(role: HaMember['role']): number {
  return role === 'active' ? 0 : role === 'standby' ? 1 : 2
}

function toMember(d: MemberDescriptor, role: HaMember['role']): HaMember {
  return {
    name: d.name,
    role,
    amqp: d.amqp,
    http: d.http,
    pid: d.pid,
    hostname: d.hostname,
    started_at: d.started_at,
    last_seen_at: d.last_seen_at,
    active_since: role === 'active' ? d.active_since : null,
  }
}

export function appendTakeover(dataDir: string, takeover: HaTakeover): void {
  mkdirSync(pairDir(dataDir), { recursive: true })
  const file = takeoverFile(dataDir)
  // a member killed in the middle of an append leaves a line without its newline: end it, so this one stays whole
  const torn = existsSync(file) && statSync(file).size > 0 && !readFileSync(file).subarray(-1).equals(Buffer.from('\n'))
  appendFileSync(file, (torn ? '\n' : '') + JSON.stringify(takeover) + '\n')
}

/** The last 100 takeovers, newest first. A torn last line (a member killed mid-append) is skipped. */
export function readTakeovers(dataDir: string, limit = TAKEOVERS_KEPT): HaTakeover[] {
  const file = takeoverFile(dataDir)
  if (!existsSync(file)) return []
  const lines = readFileSync(file, 'utf8').split('\n')
  const result: HaTakeover[] = []
  for (let i = lines.length - 1; i >= 0 && result.length < limit; i--) {
    const line = lines[i].trim()
    if (line === '') continue
    try {
      result.push(JSON.parse(line) as HaTakeover)
    } catch {
      // torn line
    }
  }
  return result
}
