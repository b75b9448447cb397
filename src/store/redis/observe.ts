import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Cluster, Redis } from 'ioredis'
import { scripts } from './scripts.js'

/** Told of every command the store's connection sends (its own and the rate limiters'), for metrics. */
export interface StoreObserver {
  /** `command`: the Redis command, or the store's script by name; `failed`: it was refused, timed out or never sent. */
  command: (command: string, seconds: number, failed: boolean) => void
  /** A connection error (refused, reset, authentication): the client reconnects by itself. */
  connectionError: () => void
}

interface SentCommand { name: string, args: unknown[], promise: Promise<unknown> }

// Scripts go out as EVALSHA <sha>: named by the script they run where it is the store's own.
const SCRIPT_NAMES = new Map(Object.entries(scripts).map(([name, { lua }]) => [createHash('sha1').update(lua).digest('hex'), name]))

/**
 * Times every command at the client's one door, `sendCommand`, which ioredis
 * calls for every command of a standalone, Sentinel or Cluster client. Costs
 * nothing while nobody observes; the command's own promise is left as it is.
 */
export function observeCommands (client: Redis | Cluster, observers: ReadonlySet<StoreObserver>): void {
  const target = client as unknown as { sendCommand: (command: SentCommand, ...rest: unknown[]) => unknown }
  const send = target.sendCommand
  target.sendCommand = function (this: unknown, command: SentCommand, ...rest: unknown[]) {
    if (observers.size === 0) return send.call(this, command, ...rest)
    // Named now: a script's command turns itself into EVAL on a connection that has not loaded it yet.
    const name = command.name === 'evalsha' ? SCRIPT_NAMES.get(String(command.args[0])) ?? 'evalsha' : command.name
    const started = performance.now()
    const result = send.call(this, command, ...rest)
    const done = (failed: boolean) => {
      const seconds = (performance.now() - started) / 1000
      for (const o of observers) o.command(name, seconds, failed)
    }
    command.promise.then(() => { done(false) }, () => { done(true) })
    return result
  }
}
