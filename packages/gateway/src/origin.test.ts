// Origin and Host rules as pure functions: what a rebinding page, an odd spelling or an operator's
// typo gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, isLoopbackHostname, normalizeAllowedOrigin, originAllowed, parseHost, parseOrigin } from './origin.js';

const PLAIN = { allowedOrigins: [], dev: false } as const;
const DEV = { allowedOrigins: [], dev: true } as const;

test('loopback Host names: 127.x.y.z, localhost and [::1], with or without a port, spelled as browsers spell them', () => {
  for (const h of ['127.0.0.1', '127.0.0.1:8080', '127.255.255.254:1', '127.1.2.3:65535', 'localhost', 'localhost:8080', '[::1]', '[::1]:8080']) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of [
    undefined, '', 'evil.example', 'evil.example:8080', 'LOCALHOST:8080', 'Localhost', 'localhost.', 'localhost.:8080', '127.0.0.1.',
    'user@127.0.0.1', 'user:pw@localhost:8080', '127.0.0.1@evil.example', '127.0.0.1.evil.example', 'localhost.evil.example',
    '127.0.0.1.nip.io', '0x7f000001', '0x7f.0.0.1', '2130706433', '0177.0.0.1', '127.0.0.01', '127.1', '127.0.1', '127.0.0.256',
    '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:08080', '127.0.0.1:', '127.0.0.1:80:80', '127.0.0.1 ', ' 127.0.0.1', '127.0.0.1\t',
    '127.0.0.1, evil.example', '127.0.0.1/evil', '127.0.0.1#x', '127.0.0.1?x', '%31%32%37.0.0.1', '127。0。0。1', '１２７.0.0.1',
    '::1', '[::1', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0::1]', '10.0.0.1', '0.0.0.0', '[::]',
    'localhost\u0000', 'x'.repeat(1000), `${'a.'.repeat(140)}b`,
  ]) {
    assert.equal(isLoopbackHost(h), false, JSON.stringify(h));
  }
});

test('parseHost and parseOrigin accept exactly the serialized forms', () => {
  assert.deepEqual(parseHost('gw.example.com:8443'), { hostname: 'gw.example.com', port: '8443' });
  assert.deepEqual(parseHost('[::1]'), { hostname: '[::1]' });
  assert.deepEqual(parseOrigin('https://gw.example.com'), { scheme: 'https', hostname: 'gw.example.com' });
  assert.deepEqual(parseOrigin('http://[::1]:8080'), { scheme: 'http', hostname: '[::1]', port: '8080' });
  for (const o of ['null', 'file://', 'https://gw.example.com/', 'https://gw.example.com/x', 'HTTPS://gw.example.com', 'https://GW.example.com',
    'https://user@gw.example.com', 'ws://gw.example.com', 'chrome-extension://abc', 'https://gw.example.com.', '//gw.example.com', 'gw.example.com']) {
    assert.equal(parseOrigin(o), undefined, o);
  }
  // no pathological backtracking on long near-misses
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) { parseHost(`${'a-'.repeat(140)}!`); parseOrigin(`http://${'a'.repeat(62)}.`.repeat(5)); }
  assert.ok(performance.now() - t0 < 50, `${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(isLoopbackHostname('127.0.0.1'), true);
  assert.equal(isLoopbackHostname('127.0.0.1:80'), false, 'a hostname has no port');
});

test('originAllowed: no Origin (not a browser) is left to the token', () => {
  assert.equal(originAllowed(undefined, 'evil.example', PLAIN), true);
  assert.equal(originAllowed(undefined, undefined, PLAIN), true);
});

test('originAllowed: a rebinding page (Origin host == Host, a public name) is refused, in dev mode too', () => {
  for (const p of [PLAIN, DEV]) {
    assert.equal(originAllowed('http://evil.example', 'evil.example', p), false);
    assert.equal(originAllowed('http://evil.example:8080', 'evil.example:8080', p), false);
    assert.equal(originAllowed('http://127.0.0.1.evil.example:8080', '127.0.0.1.evil.example:8080', p), false);
    assert.equal(originAllowed('http://localhost.evil.example', 'localhost.evil.example', p), false);
  }
});

test('originAllowed: the gateway\'s own page under a loopback name', () => {
  assert.equal(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', PLAIN), true);
  assert.equal(originAllowed('http://localhost:8080', 'localhost:8080', PLAIN), true);
  assert.equal(originAllowed('http://[::1]:8080', '[::1]:8080', PLAIN), true);
  assert.equal(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8081', PLAIN), false, 'another port is another origin');
  assert.equal(originAllowed('http://localhost:5173', '127.0.0.1:8080', PLAIN), false, 'another loopback page: dev mode only');
  assert.equal(originAllowed('http://localhost:5173', '127.0.0.1:8080', DEV), true);
  assert.equal(originAllowed('http://127.9.9.9', 'evil.example', DEV), true, 'dev: loopback pages whatever the Host');
});

test('originAllowed: odd spellings of loopback are not loopback', () => {
  const odd = ['LOCALHOST:8080', 'localhost.:8080', '127.0.0.1.:8080', '0x7f000001:8080', '2130706433:8080', '0177.0.0.1:8080',
    '127.0.0.01:8080', '127.1:8080', '[0:0:0:0:0:0:0:1]:8080', '[::ffff:127.0.0.1]:8080'];
  for (const host of odd) {
    for (const p of [PLAIN, DEV]) assert.equal(originAllowed(`http://${host}`, host, p), false, `${host} dev=${p.dev}`);
  }
  for (const origin of ['http://user@localhost:8080', 'http://localhost:8080/', 'http://localhost:8080/x', 'HTTP://localhost:8080', 'null', 'file://',
    'http://evil.example#@localhost:8080', 'http://localhost:8080@evil.example', 'http://localhost:8080\u0000', ' http://localhost:8080']) {
    for (const p of [PLAIN, DEV]) assert.equal(originAllowed(origin, 'localhost:8080', p), false, `${JSON.stringify(origin)} dev=${p.dev}`);
  }
});

test('originAllowed: a public name only when the operator lists it; listed origins from anywhere', () => {
  const p = { allowedOrigins: ['https://gw.example.com', 'https://app.example.com:8443'], dev: false };
  assert.equal(originAllowed('https://gw.example.com', 'gw.example.com', p), true);
  assert.equal(originAllowed('http://gw.example.com', 'gw.example.com', p), true, 'same-origin under a listed name (TLS ended at a proxy)');
  assert.equal(originAllowed('http://gw.example.com', 'gw.example.com:8080', p), false, 'port differs from Host');
  assert.equal(originAllowed('http://gw.example.com:8080', 'gw.example.com:8080', p), false, 'gw.example.com:8080 is not listed');
  assert.equal(originAllowed('https://app.example.com:8443', 'evil.example', p), true, 'a listed origin whatever the Host');
  assert.equal(originAllowed('https://app.example.com', 'app.example.com', p), false, 'app.example.com without :8443 is not listed');
  assert.equal(originAllowed('https://other.example.com', 'other.example.com', p), false);
  assert.equal(originAllowed('https://GW.example.com', 'GW.example.com', p), false);
  assert.equal(originAllowed('https://anything.example', 'x', { allowedOrigins: ['*'], dev: false }), true);
});

test('normalizeAllowedOrigin: entries become what browsers send; what can never match is refused at start', () => {
  assert.equal(normalizeAllowedOrigin('https://App.Example.com/'), 'https://app.example.com');
  assert.equal(normalizeAllowedOrigin('https://app.example.com:443'), 'https://app.example.com');
  assert.equal(normalizeAllowedOrigin('http://localhost:5173'), 'http://localhost:5173');
  assert.equal(normalizeAllowedOrigin('*'), '*');
  for (const bad of ['app.example.com', 'localhost:5173', 'https://app.example.com/path', 'https://u@app.example.com', 'file:///x', '']) {
    assert.throws(() => normalizeAllowedOrigin(bad), /allowedOrigins: ".*" is not an origin; write scheme:\/\/host\[:port\]/, bad);
  }
});
