// Helpers for the HTTP publish tests (not exported): a gateway in front of the embedded name server
// and broker (real TCP), and requests to it with fetch.
import type { TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import type { MessageExt } from '@rocketmq-edge/core/internal';
import { startGateway, type Gateway, type GatewayOptions } from './index.js';

export const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
/** A static token for topics http-* (subject "writer"). */
export const TOKEN = 'http-writer-token';
/** Another principal's static token for the same topics (subject "bystander"). */
export const OTHER_TOKEN = 'http-bystander-token';
export const ORIGIN = 'https://app.example.com';

/** An HS256 JWT of the test secret (subject "alice" unless claims say otherwise). */
export const jwt = (claims: Record<string, unknown>, exp: string | number = '1h', secret = SECRET): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(String(claims.sub ?? 'alice')).setExpirationTime(exp).sign(new TextEncoder().encode(secret));

export interface HttpFixture {
  gw: Gateway;
  namesrvAddr: string;
  /** POST (or another method) to the gateway; a JSON answer is parsed into `json`. */
  call(path: string, init?: RequestInit & { token?: string | null }): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }>;
  stored(topic: string): Promise<MessageExt[]>;
}

/** Gateway (JWT + the two static tokens, ORIGIN allowed) over the embedded name server + broker, closed after the test. */
export async function httpFixture(t: TestContext, extra: Partial<GatewayOptions> = {}, namesrvAddr?: string): Promise<HttpFixture> {
  let ns = namesrvAddr;
  if (ns === undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-http-'));
    const emb = await startEmbedded({ dataDir: dir });
    t.after(async () => { await emb.close(); await rm(dir, { recursive: true, force: true }); });
    ns = emb.namesrvAddr;
  }
  const gw = await startGateway({
    namesrvAddr: ns,
    auth: {
      jwt: { secret: SECRET },
      staticTokens: { [TOKEN]: { sub: 'writer', topics: ['http-*'] }, [OTHER_TOKEN]: { sub: 'bystander', topics: ['http-*'] } },
    },
    allowedOrigins: [ORIGIN],
    logLevel: 'silent',
    ...extra,
  });
  t.after(() => gw.close());
  const call: HttpFixture['call'] = async (path, init = {}) => {
    const { token = TOKEN, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(gw.httpUrl + path, { method: 'POST', ...rest, headers });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try { json = text ? JSON.parse(text) as Record<string, unknown> : {}; } catch { json = { text }; }
    return { status: res.status, json, headers: res.headers };
  };
  return { gw, namesrvAddr: ns, call, stored: (topic) => readAll({ namesrvAddr: ns, topic }) };
}

export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
