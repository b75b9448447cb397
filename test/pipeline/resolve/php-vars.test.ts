import t from 'tap'
import { phpUrlDecode, phpVariableName, readQuery } from '../../../src/pipeline/resolve/php-vars.js'

// PHP 8.2's php_register_variable_ex, as confirmed against php -S
// (test/fixtures/README.md lists the experiments).

t.test('variable names', async (t) => {
  const cases: Array<[string, { name: string, array: boolean } | null]> = [
    ['rest_route', { name: 'rest_route', array: false }],
    ['rest.route', { name: 'rest_route', array: false }],
    ['  rest route', { name: 'rest_route', array: false }],
    ['rest[route', { name: 'rest_route', array: false }],
    ['rest[route.x', { name: 'rest_route_x', array: false }],
    ['a[b[c', { name: 'a_b_c', array: false }],
    ['rest_route[a]', { name: 'rest_route', array: true }],
    ['rest_route[]', { name: 'rest_route', array: true }],
    ['rest_route]', { name: 'rest_route]', array: false }],
    ['rest_route\0junk', { name: 'rest_route', array: false }],
    ['\trest_route', { name: '\trest_route', array: false }],
    ['[rest_route', null],
    ['[a]', null],
    [' ', null],
    ['.method', { name: '_method', array: false }]
  ]
  for (const [raw, expected] of cases) t.same(phpVariableName(raw), expected, JSON.stringify(raw))
})

t.test('decoding and reading', async (t) => {
  t.equal(phpUrlDecode('a+b%2Fc%zz%4'), 'a b/c%zz%4')
  t.same(readQuery('rest_route=%2Fa&rest_route=/b&other=1', new Set(['rest_route']), { maxVars: 10 }).get('rest_route'), { value: '/b', array: false })
  t.same(readQuery('rest_route[]=/a&rest_route=/b', new Set(['rest_route']), { maxVars: 10 }).get('rest_route'), { value: '/b', array: true }, 'an array anywhere is remembered')
  t.equal(readQuery('+rest_route=/x', new Set(['rest_route']), { maxVars: 10 }).get('rest_route')?.value, '/x')
})
