import { PasswordWeak } from '../errors.js'
import { commonPasswords } from './common-passwords.js'

export interface PasswordRuleSettings { minLength: number, rejectCommon: boolean }

/**
 * The gateway's own floor under every new password (registration, reset,
 * change), checked before WordPress is asked; WordPress's own hooks
 * (validate_password_reset, registration_errors) may refuse more. A very
 * common password is refused as it is, and with digits or symbols added at
 * its end (`sunshine2024!`), without regard to case; so is the login or email.
 */
export class PasswordRules {
  readonly #settings: PasswordRuleSettings

  constructor (settings: PasswordRuleSettings) {
    this.#settings = settings
    if (settings.rejectCommon) commonPasswords() // read at start-up, not on the first request
  }

  check (password: string, user: { login?: string | undefined, email?: string | undefined } = {}): void {
    // Characters as people count them (code points), not UTF-16 units.
    if ([...password].length < this.#settings.minLength) throw new PasswordWeak(`The password must be at least ${this.#settings.minLength} characters long.`)
    const lower = password.toLowerCase()
    if (lower === user.login?.toLowerCase() || lower === user.email?.toLowerCase()) throw new PasswordWeak('The password must not be the username or email address.')
    if (!this.#settings.rejectCommon) return
    const common = commonPasswords()
    const base = lower.replace(/[\d\W_]+$/u, '')
    if (common.has(lower) || (base.length >= 4 && common.has(base)) || /^(.)\1*$/su.test(lower)) {
      throw new PasswordWeak('The password is too common; choose another one.')
    }
  }
}
