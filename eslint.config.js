import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.wp-test/**', '.wp-local/**', '.tap/**'] }),
  {
    rules: {
      // TypeBox names a schema and its static type alike (`const X = Type...; type X = Static<typeof X>`).
      '@typescript-eslint/no-redeclare': 'off',
      // `void reply.header(...)` marks a deliberately ignored thenable.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
