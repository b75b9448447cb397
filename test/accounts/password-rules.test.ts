import t from 'tap'
import { PasswordRules } from '../../src/accounts/password-rules.js'
import { commonPasswords } from '../../src/accounts/common-passwords.js'

const refusal = (rules: PasswordRules, password: string, user = {}): string | null => {
  try {
    rules.check(password, user)
    return null
  } catch (err) {
    return (err as { code: string }).code
  }
}

t.test('the list of common passwords is read from the data file, lower-cased, without its comments', async (t) => {
  const list = commonPasswords()
  t.ok(list.size > 3000, `${list.size} entries`)
  t.ok(list.has('password') && list.has('qwertyuiop') && list.has('1234567890'))
  t.notOk([...list].some((p) => p.startsWith('#!comment') || p !== p.toLowerCase()))
})

t.test('minimum length, common passwords (any case, with digits or symbols added), the login or email', async (t) => {
  const rules = new PasswordRules({ minLength: 10, rejectCommon: true })
  const refused: Array<[string, string, object?]> = [
    ['too short', 'K9!vQ2#mz'],
    ['on the list', 'basketball'],
    ['on the list, other case', 'QwertyUIOP'],
    ['on the list with digits', 'sunshine2024'],
    ['on the list with digits and symbols', 'Monkey!!1234'],
    ['one character repeated', 'zzzzzzzzzzzzzz'],
    ['the login', 'Amelia-Hartley', { login: 'amelia-hartley' }],
    ['the email', 'amelia@example.test', { email: 'Amelia@Example.test' }]
  ]
  for (const [why, password, user] of refused) t.equal(refusal(rules, password, user), 'GW_ERR_PASSWORD_WEAK', why)
  for (const ok of ['Kestrel-violin-7', 'correct horse battery staple', 'sunshine-and-rain-on-gravel']) t.equal(refusal(rules, ok), null, ok)
  t.equal(refusal(rules, '密码密码密码密码密码'), null, 'length counts characters, not UTF-16 units')
  t.equal(refusal(new PasswordRules({ minLength: 8, rejectCommon: false }), 'password1'), null, 'the list can be turned off')
})
