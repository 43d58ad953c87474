// Bundle-size entry for the peers harness (--contender-bundle): what a page that connects and
// publishes one acknowledged message ships. Imports the prebuilt library file (`npm run build`),
// which the harness's esbuild tree-shakes like any app would.
import { Producer, WebSocketTransport } from '../dist/browser/rocketmq-edge.js';

export async function publish(url, token) {
  const producer = new Producer({ transport: new WebSocketTransport({ url, token }), producerGroup: 'web' });
  await producer.start();
  const result = await producer.send({ topic: 'bench', body: 'hello' });
  await producer.shutdown();
  return result;
}
