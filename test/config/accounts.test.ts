import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { testEnv } from '../helper.js'

const problems = (accounts: unknown): string[] => {
  try {
    loadConfig({ env: testEnv(), file: { accounts } })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

t.test('accounts: defaults', async (t) => {
  const { accounts } = loadConfig({ env: testEnv(), file: {} })
  t.same(accounts.register, { enabled: 'wordpress', login: false, revealTaken: true })
  t.same(accounts.password, { minLength: 10, rejectCommon: true })
  t.equal(accounts.resetUrl, undefined, 'WordPress\'s own link unless set')
  t.equal(accounts.captcha.webhook, undefined, 'no CAPTCHA unless set')
})

t.test('accounts: the reset link template must be a safe link with both placeholders', async (t) => {
  t.same(problems({ resetUrl: 'myapp://reset?key={key}&login={login}' }), [])
  t.same(problems({ resetUrl: 'https://app.example.com/reset#key={key}&login={login}' }), [])
  t.match(problems({ resetUrl: 'myapp://reset?key={key}' }).join('\n'), /accounts\.resetUrl: must contain \{key\} and \{login\}/)
  t.match(problems({ resetUrl: 'javascript:alert({key}{login})' }).join('\n'), /scheme javascript: is not allowed/)
  t.match(problems({ resetUrl: 'myapp://r?k={key}&l={login}&u={user}' }).join('\n'), /\{user\} is not a placeholder/)
  t.match(problems({ resetUrl: 'not a link {key} {login}' }).join('\n'), /accounts\.resetUrl/)
})

t.test('accounts: combinations that would tell a taken account from a new one', async (t) => {
  t.match(problems({ register: { login: true, revealTaken: false } }).join('\n'), /accounts\.register\.login: .* needs revealTaken: true/)
  t.match(problems({ register: { enabled: 'sometimes' } }).join('\n'), /accounts\.register\.enabled/)
  t.match(problems({ password: { minLength: 4 } }).join('\n'), /accounts\.password\.minLength/)
  t.match(problems({ captcha: { webhook: 'ftp://x' } }).join('\n'), /accounts\.captcha\.webhook/)
})
