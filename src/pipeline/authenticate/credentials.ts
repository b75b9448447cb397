import type { IncomingMessage } from 'node:http'
import { AuthHeaderDuplicate } from '../../errors.js'

/** The credential header, split into scheme and value. */
export interface Credentials {
  scheme: string
  value: string
}

/**
 * The credential header, exactly once. Node keeps only the first of
 * duplicated `Authorization` headers (http.IncomingMessage, message.headers),
 * while a server behind us might read the last, so duplicates are counted
 * in the raw headers and refused.
 */
export function readCredentials (raw: IncomingMessage, headerName: string, bareIsBearer = false): Credentials | null {
  const rawHeaders = raw.rawHeaders
  let value: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length !== headerName.length || name.toLowerCase() !== headerName) continue
    if (value !== undefined) throw new AuthHeaderDuplicate()
    value = rawHeaders[i + 1]!
  }
  if (value === undefined) return null
  const space = value.indexOf(' ')
  // A custom header may carry the bare token, as the WordPress plugins' custom headers do.
  if (space === -1) return bareIsBearer ? { scheme: 'bearer', value: value.trim() } : { scheme: value.toLowerCase(), value: '' }
  return { scheme: value.slice(0, space).toLowerCase(), value: value.slice(space + 1).trim() }
}

/** What a request carries for the authenticators, read once per request. */
export interface RequestCredentials {
  /** The configured credential header, or null when absent. */
  header: Credentials | null
}
