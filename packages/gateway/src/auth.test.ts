// Authenticator and principals: what a token may claim, how long it lives, and that asking about
// topics costs a bounded amount of memory whatever a client sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SignJWT, type JWTPayload } from 'jose';
import { AuthError, Authenticator, makePrincipal, type AuthOptions } from './auth.js';

const SECRET = 'operator-secret-0123456789-0123456789-abc';
const DEV_SECRET = 'development-secret-0123456789-0123456789';
const enc = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(secret));
}

async function refusal(auth: Authenticator, token: string): Promise<AuthError> {
  try {
    await auth.verify(token);
  } catch (e) {
    assert.ok(e instanceof AuthError, String(e));
    return e;
  }
  assert.fail('accepted');
}

test('the "topics" claim: patterns of the topic charset plus * and ?, at most 100 of at most 255 characters', async () => {
  const auth = new Authenticator({ jwt: { secret: SECRET } });
  const exp = now() + 600;
  const ok = await auth.verify(await sign({ topics: ['orders-*', 'demo-?', '%RETRY%|g'], exp }));
  assert.deepEqual(ok.topics, ['orders-*', 'demo-?', '%RETRY%|g']);
  const cases: [unknown, RegExp][] = [
    [['orders.*'], /^topic pattern "orders\.\*" never matches: topics have no "\."; use orders-\* or orders_\*$/],
    [Array.from({ length: 101 }, (_, i) => `t${i}`), /101 patterns; at most 100/],
    [['x'.repeat(256)], /256 characters long; at most 255/],
    [['ok', 42], /"topics"\[1\] is not a non-empty string/],
    [['orders/*'], /has "\/"/],
    ['*', /no "topics" claim/],
    [[], /no "topics" claim/],
  ];
  for (const [topics, re] of cases) {
    const e = await refusal(auth, await sign({ topics, exp } as JWTPayload));
    assert.equal(e.reason, 'claims');
    assert.match(e.message, re);
  }
});

test('static token grants are checked when the gateway starts', () => {
  assert.throws(() => new Authenticator({ staticTokens: { t: { sub: 'dev', topics: ['orders.*'] } } }),
    /the grant of "dev": topic pattern "orders\.\*" never matches.*use orders-\* or orders_\*/);
  assert.throws(() => new Authenticator({ staticTokens: { t: { sub: 'dev', topics: [] } } }), /no "topics" claim/);
  assert.equal(new Authenticator({ staticTokens: { t: { sub: 'dev', topics: ['orders-*'] } } }).configured, true);
});

test('a token without exp is refused unless jwt.allowNoExpiry; the allowance is per issuer', async () => {
  const strict = new Authenticator({ jwt: { secret: SECRET } });
  const forever = await sign({ topics: ['*'] });
  const e = await refusal(strict, forever);
  assert.equal(e.reason, 'claims');
  assert.match(e.message, /no "exp" claim: tokens must expire.*--jwt-allow-no-expiry/);
  // a non-numeric exp is no way around it
  assert.equal((await refusal(strict, await sign({ topics: ['*'], exp: 'never' as unknown as number }))).reason, 'claims');
  assert.equal((await refusal(strict, await sign({ topics: ['*'], exp: null as unknown as number }))).reason, 'claims');

  const lenient = new Authenticator({ jwt: [{ secret: SECRET, allowNoExpiry: true }, { secret: DEV_SECRET }] });
  const p = await lenient.verify(forever);
  assert.equal(p.expiresAt, undefined);
  assert.equal(p.mayUseTopic('anything'), true);
  assert.match((await refusal(lenient, await sign({ topics: ['*'] }, DEV_SECRET))).message, /no "exp" claim/, 'the other issuer stays strict');
});

test('expiresAt is exp + clock tolerance: the session ends exactly when verify starts refusing the token', async () => {
  const auth = new Authenticator({ jwt: { secret: SECRET, clockToleranceSec: 5 } });
  const exp = now() - 3; // expired 3 s ago, inside the 5 s tolerance
  const p = await auth.verify(await sign({ topics: ['*'], exp }));
  assert.equal(p.expiresAt, (exp + 5) * 1000);
  assert.ok(p.expiresAt! > Date.now(), 'a token verify accepts has a session that is still open');
  assert.equal((await refusal(auth, await sign({ topics: ['*'], exp: now() - 6 }))).reason, 'expired', 'and past exp + tolerance verify refuses');
  const exact = new Authenticator({ jwt: { secret: SECRET, clockToleranceSec: 0 } });
  const exp2 = now() + 60;
  assert.equal((await exact.verify(await sign({ topics: ['*'], exp: exp2 }))).expiresAt, exp2 * 1000);
  const defaulted = new Authenticator({ jwt: { secret: SECRET } });
  assert.equal((await defaulted.verify(await sign({ topics: ['*'], exp: exp2 }))).expiresAt, (exp2 + 5) * 1000, 'default tolerance 5 s');
});

test('several issuers: a token verifies with any one of them, under that issuer\'s own checks', async () => {
  const opts: AuthOptions = { jwt: [{ secret: SECRET, issuer: 'operator' }, { secret: DEV_SECRET }] };
  const auth = new Authenticator(opts);
  const exp = now() + 600;
  assert.equal((await auth.verify(await sign({ topics: ['a'], exp, iss: 'operator' }))).topics[0], 'a');
  assert.equal((await auth.verify(await sign({ topics: ['b'], exp }, DEV_SECRET))).topics[0], 'b', 'no issuer check for the development one');
  assert.equal((await refusal(auth, await sign({ topics: ['a'], exp }))).reason, 'claims', 'the operator\'s tokens still need their issuer');
  assert.equal((await refusal(auth, await sign({ topics: ['a'], exp }, 'a-third-secret-0123456789-0123456789'))).reason, 'invalid');
  assert.equal((await refusal(auth, await sign({ topics: ['a'], exp: now() - 60 }, DEV_SECRET))).reason, 'expired');
  assert.throws(() => new Authenticator({ jwt: [{ secret: SECRET }, { secret: 'short' }] }), /at least 32 bytes/);
});

test('mayUseTopic: only valid RocketMQ topics match, whatever the pattern', () => {
  const p = makePrincipal('alice', ['orders-*', 'a?c']);
  assert.equal(p.mayUseTopic('orders-eu'), true);
  assert.equal(p.mayUseTopic('orders-' + 'x'.repeat(120)), true, '127 characters');
  assert.equal(p.mayUseTopic('orders-' + 'x'.repeat(121)), false, '128 characters');
  assert.equal(p.mayUseTopic('orders-' + 'x'.repeat(4 * 1024 * 1024)), false, '4 MiB');
  for (const bad of ['orders-a.b', 'orders-a/b', 'orders-é', 'orders- ', 'orders-\n', 'a.c', 'a c', 'a\u0000c']) {
    assert.equal(p.mayUseTopic(bad), false, JSON.stringify(bad));
  }
  assert.equal(p.mayUseTopic('abc'), true);
  assert.equal(p.mayUseTopic('payments'), false);
});

test('the topic-match cache is bounded in count and key length: 4 MiB topics and 100,000 distinct ones keep nothing', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const p = makePrincipal('alice', ['orders-*']);
  const used = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const before = used();
  for (let i = 0; i < 50; i++) assert.equal(p.mayUseTopic(`orders-${i}-` + 'x'.repeat(4 * 1024 * 1024)), false);
  for (let i = 0; i < 100_000; i++) p.mayUseTopic(`orders-${i}-${'y'.repeat(100)}`);
  const grown = used() - before;
  assert.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB`);
  assert.equal(p.mayUseTopic('orders-eu'), true, 'still answers once the cache is full');
});
