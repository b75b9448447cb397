import { readFileSync } from 'node:fs'

// Very common passwords, from the data file beside the package's code
// (data/common-passwords.txt: John the Ripper's password.lst, Openwall, public
// domain, as Debian's john-data ships it). Read once, lower-cased: the check is
// without regard to case. The same relative path holds from src/ and dist/.
const FILE = new URL('../../data/common-passwords.txt', import.meta.url)

let common: ReadonlySet<string> | undefined

export function commonPasswords (): ReadonlySet<string> {
  common ??= new Set(readFileSync(FILE, 'utf8').split(/\r?\n/).filter((line) => line !== '' && !line.startsWith('#!comment:')).map((p) => p.toLowerCase()))
  return common
}
