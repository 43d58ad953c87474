// An embedded name server + broker and a gateway in this process, for test runs that configure
// no RocketMQ of their own: one token that publishes and reads everything, fresh data, loopback only.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { startGateway } from '@rocketmq-edge/gateway';

export interface EmbeddedRocketMQ {
  /** ws://127.0.0.1:<port>/rmq */
  gatewayUrl: string;
  /** Publishes and reads every topic, as every group. */
  token: string;
  namesrvAddr: string;
  close(): Promise<void>;
}

export async function startEmbeddedRocketMQ(): Promise<EmbeddedRocketMQ> {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-playwright-'));
  const emb = await startEmbedded({ dataDir: dir });
  const token = randomBytes(18).toString('base64url');
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    enableConsumer: true,
    auth: { staticTokens: { [token]: { sub: 'playwright', topics: ['*'], subscribe: ['*'], consumerGroups: ['*'] } } },
    // Pages under test are served from anywhere on loopback.
    allowedOrigins: ['*'],
    logLevel: 'silent',
  });
  return {
    gatewayUrl: gw.url,
    token,
    namesrvAddr: emb.namesrvAddr,
    close: async () => {
      await gw.close();
      await emb.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
