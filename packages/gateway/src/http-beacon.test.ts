// Beacon publishes (navigator.sendBeacon: no headers, a text/plain body): minting beacon tokens,
// what /v1/beacon accepts, and every refusal — long-lived or foreign tokens, expired ones, other
// topics, missing or disallowed origins. Tokens never reach the logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { BEACON_AUDIENCE, BEACON_TYP } from './beacon.js';
import { ORIGIN, SECRET, TOKEN, httpFixture, jwt, text } from './http-test-support.js';

const BEACON_SECRET = 'the-beacon-key-of-this-test-gateway-0123456789';

async function fixture(t: Parameters<typeof httpFixture>[0]) {
  const lines: string[] = [];
  const record = (level: string) => (obj: object, msg?: string) => lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  const f = await httpFixture(t, {
    http: { beaconSecret: BEACON_SECRET },
    logger: { info: record('info'), warn: record('warn'), debug: record('debug'), error: record('error') },
  });
  const mint = async (body?: unknown, token = TOKEN) => f.call('/v1/beacon-tokens', {
    token, headers: { origin: ORIGIN, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const beacon = (body: unknown, origin: string | null = ORIGIN) => f.call('/v1/beacon', {
    token: null, headers: { 'content-type': 'text/plain;charset=UTF-8', ...(origin ? { origin } : {}) }, body: JSON.stringify(body),
  });
  return { ...f, lines, mint, beacon };
}

/** A beacon token as the gateway signs them, with chosen claims (expired ones, for instance). */
const craft = (claims: Record<string, unknown>, iat: number, exp: number, key = BEACON_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: BEACON_TYP }).setSubject('writer').setAudience(BEACON_AUDIENCE)
    .setIssuedAt(iat).setExpirationTime(exp).sign(new TextEncoder().encode(key));

test('a page mints a beacon token with its token, then publishes with sendBeacon\'s body alone; ids dedupe across both paths', async (t) => {
  const { mint, beacon, call, stored, lines } = await fixture(t);
  const minted = await mint();
  assert.equal(minted.status, 200, JSON.stringify(minted.json));
  assert.equal(minted.headers.get('access-control-allow-origin'), ORIGIN);
  const { token, expiresAt } = minted.json as { token: string; expiresAt: number };
  assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 10 * 60_000, `expiresAt ${expiresAt}`);

  // the outbox sent m-1 with fetch earlier; the page closes and everything goes again as a beacon
  const earlier = await call('/v1/topics/http-beacon/messages', { headers: { origin: ORIGIN, 'Idempotency-Key': 'm-1' }, body: 'first' });
  assert.equal(earlier.status, 200);
  const r = await beacon({ token, topic: 'http-beacon', messages: [{ id: 'm-1', body: 'first' }, { id: 'm-2', body: 'second', tags: 'unload' }] });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
  const [dup, fresh] = r.json.results as { id: string; duplicate: boolean }[];
  assert.deepEqual([dup!.id, dup!.duplicate, fresh!.id, fresh!.duplicate], ['m-1', true, 'm-2', false]);
  const all = await stored('http-beacon');
  assert.deepEqual(all.map((m) => [m.msgId, text(m.body)]).sort(), [['m-1', 'first'], ['m-2', 'second']]);
  assert.equal(all.find((m) => m.msgId === 'm-2')!.properties.TAGS, 'unload');

  for (const l of lines) {
    assert.ok(!l.includes(token) && !l.includes(TOKEN), `a token in the log: ${l}`);
  }
});

test('/v1/beacon refuses long-lived tokens, other keys\' tokens, expired beacon tokens and other topics; a beacon token opens nothing else', async (t) => {
  const { mint, beacon, call, stored, lines } = await fixture(t);
  const msg = [{ body: 'x' }];
  const longLived = await jwt({ topics: ['*'] });
  const cases: [string, unknown, number, RegExp][] = [
    ['a static token', { token: TOKEN, topic: 'http-b', messages: msg }, 401, /not a beacon token: mint one with POST \/v1\/beacon-tokens/],
    ['a long-lived JWT', { token: longLived, topic: 'http-b', messages: msg }, 401, /not a beacon token of this gateway/],
    ['signed with another key', { token: await craft({ topics: ['*'] }, Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) + 60, 'x'.repeat(40)), topic: 'http-b', messages: msg }, 401, /not a beacon token of this gateway/],
    ['expired', { token: await craft({ topics: ['http-*'] }, Math.floor(Date.now() / 1000) - 700, Math.floor(Date.now() / 1000) - 100), topic: 'http-b', messages: msg }, 401, /beacon token expired/],
    ['living too long', { token: await craft({ topics: ['http-*'] }, Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) + 3600), topic: 'http-b', messages: msg }, 401, /lives too long/],
    ['no token', { topic: 'http-b', messages: msg }, 401, /no beacon token/],
  ];
  for (const [what, body, status, remark] of cases) {
    const r = await beacon(body);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
    assert.match(r.json.remark as string, remark, what);
  }
  const narrow = (await mint({ topics: ['http-a'] })).json.token as string;
  const other = await beacon({ token: narrow, topic: 'http-b', messages: msg });
  assert.equal(other.status, 403);
  assert.match(other.json.remark as string, /may not use topic "http-b": the token.s "topics" claim \[http-a\] does not allow it/);
  const asBearer = await call('/v1/topics/http-a/messages', { token: narrow, body: 'x' });
  assert.equal(asBearer.status, 401, 'a beacon token is no Bearer token');
  const mintMore = await mint(undefined, narrow);
  assert.equal(mintMore.status, 401, 'nor does it mint more');
  assert.equal((await stored('http-b')).length + (await stored('http-a')).length, 0);
  for (const l of lines) assert.ok(!l.includes(narrow) && !l.includes(longLived), `a token in the log: ${l}`);
});

test('beacons need an allowed Origin (a missing one included): 403 without Access-Control-Allow-Origin', async (t) => {
  const { mint, beacon, stored } = await fixture(t);
  const token = (await mint()).json.token as string;
  const body = { token, topic: 'http-o', messages: [{ body: 'x' }] };
  const none = await beacon(body, null);
  assert.equal(none.status, 403);
  assert.match(none.json.remark as string, /must come from a page of an allowed origin/);
  const evil = await beacon(body, 'https://evil.example');
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal((await stored('http-o')).length, 0);
});

test('minting: only for the caller\'s topics or fewer, with its own token, from an allowed origin', async (t) => {
  const { mint, call } = await fixture(t);
  assert.equal((await mint({ topics: ['http-*'] })).status, 200);
  assert.equal((await mint({ topics: ['http-a', 'http-b'] })).status, 200);
  const wider = await mint({ topics: ['*'] });
  assert.equal(wider.status, 403);
  assert.match(wider.json.remark as string, /topic "\*" is not within the token's topics \(http-\*\)/);
  assert.equal((await mint({ topics: ['orders'] })).status, 403);
  assert.equal((await mint({ topics: 'http-a' })).status, 400);
  assert.equal((await mint({ scope: ['x'] })).status, 400);
  const noToken = await call('/v1/beacon-tokens', { token: null, headers: { origin: ORIGIN } });
  assert.equal(noToken.status, 401);
  const evil = await call('/v1/beacon-tokens', { headers: { origin: 'https://evil.example' } });
  assert.equal(evil.status, 403);
  // a token that expires sooner than the beacon lifetime bounds the beacon token
  const short = await jwt({ topics: ['http-*'] }, Math.floor(Date.now() / 1000) + 120);
  const { expiresAt } = (await mint(undefined, short)).json as { expiresAt: number };
  assert.ok(expiresAt <= Date.now() + 130_000, 'never past the minting token');
});

test('a beacon secret equal to a JWT secret is refused at start (beacon tokens would pass for operator tokens)', async (t) => {
  await assert.rejects(httpFixture(t, { http: { beaconSecret: SECRET } }), /beaconSecret \(--beacon-secret\) must differ from every JWT secret/);
});
