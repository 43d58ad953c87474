// The packages as a user gets them: every published package packed by scripts/pack.mjs (pnpm), the
// tarballs installed with plain npm into a fresh project outside the workspace (no workspace links,
// no "source" condition), their declarations type-checked by a strict consumer, every export loaded
// by Node, and the README's Node snippets run on them against the installed `rocketmq-edge` command.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { readAll } from '@rocketmq-edge/broker/testing';
import { GatewayProcess, ROOT, freePort, namesrvOf, readmeSnippets, tempDir } from './support.js';

/** Entries for pages only (IndexedDB, sendBeacon): their declarations name DOM types, so they are checked with the DOM lib only. */
const BROWSER_ONLY = new Set(['@rocketmq-edge/transport-ws/outbox']);
/** Entries for test suites (Playwright): Node code whose types (Playwright's own) name DOM types too. */
const NODE_AND_DOM = new Set(['@rocketmq-edge/playwright', '@rocketmq-edge/playwright/core']);
const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** pnpm's account of one tarball (scripts/pack.mjs). */
interface Packed { name: string; version: string; filename: string }
interface Manifest {
  name: string;
  license?: string;
  keywords?: string[];
  engines?: { node?: string };
  repository?: { type: string; url: string; directory?: string };
  exports?: Record<string, unknown>;
  imports?: Record<string, unknown>;
  bin?: Record<string, string>;
}

/** Every file an exports/imports map or bin names (all conditions). */
function targets(map: unknown): string[] {
  if (typeof map === 'string') return [map];
  if (map === null || typeof map !== 'object') return [];
  return Object.values(map).flatMap(targets);
}

const SNIPPETS = { 'node-ws.ts': 'Node (≥ 20)', 'node-tcp.ts': 'Node straight to RocketMQ over TCP (no gateway)' } as const;

/** Hand-written users of the public API. `@ts-expect-error` lines fail if a type degrades to `any`. */
const NODE_CONSUMER = `
import { Producer, MQClientError, type Message, type SendResult } from '@rocketmq-edge/core';
import { WebSocketTransport, CloseCode, type WebSocketTransportOptions } from '@rocketmq-edge/transport-ws';
import { TcpTransport, parseNamesrvAddr } from '@rocketmq-edge/transport-tcp';
import { startGateway, type Gateway, type GatewayOptions } from '@rocketmq-edge/gateway';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';

export async function publish(dataDir: string): Promise<SendResult[]> {
  const embedded = await startEmbedded({ dataDir });
  const options: GatewayOptions = { namesrvAddr: embedded.namesrvAddr, auth: { staticTokens: { t: { sub: 'svc', topics: ['orders'] } } } };
  const gateway: Gateway = await startGateway(options);
  const ws: WebSocketTransportOptions = { url: gateway.url, token: async () => 't', reconnect: { maxAttempts: 2 } };
  const overWs = new Producer({ transport: new WebSocketTransport(ws), producerGroup: 'svc' });
  const overTcp = new Producer({ transport: new TcpTransport({ namesrvAddr: embedded.namesrvAddr }), producerGroup: 'svc-tcp' });
  await Promise.all([overWs.start(), overTcp.start()]);
  const msg: Message = { topic: 'orders', keys: ['order-1'], body: new TextEncoder().encode('x') };
  try {
    const results = [await overWs.send(msg), await overTcp.send(msg, { timeout: 1000 })];
    // @ts-expect-error sendStatus is a union of strings
    const status: number = results[0]!.sendStatus;
    const stored = await readAll({ namesrvAddr: embedded.namesrvAddr, topic: 'orders' });
    console.log(status, stored[0]?.msgId, parseNamesrvAddr(embedded.namesrvAddr), CloseCode.UNAUTHORIZED);
    return results;
  } catch (e) {
    if (e instanceof MQClientError) console.error(e.responseCode, e.cause);
    throw e;
  } finally {
    await Promise.all([overWs.shutdown(), overTcp.shutdown(), gateway.close()]);
    await embedded.close();
  }
}
`;

const BROWSER_CONSUMER = `
import { Producer, WebSocketTransport, MQClientError, type SendResult } from '@rocketmq-edge/transport-ws/browser';
import { Producer as CoreProducer, type ProducerOptions } from '@rocketmq-edge/core';

export async function onClick(url: string, e: MouseEvent): Promise<SendResult> {
  const transport = new WebSocketTransport({ url, token: () => fetch('/token').then((r) => r.text()) });
  transport.on('state', (s) => console.log(s.type));
  const options: ProducerOptions = { transport, producerGroup: 'web' };
  const producer: CoreProducer = new Producer(options);
  await producer.start();
  try {
    return await producer.send({ topic: 'demo-events', tags: 'click', body: JSON.stringify({ x: e.clientX }) });
  } catch (err) {
    if (err instanceof MQClientError) console.error(err.responseCode);
    throw err;
  } finally {
    // @ts-expect-error shutdown takes no arguments
    await producer.shutdown(1);
  }
}
`;

describe('the packages, packed and installed with npm', { timeout: 300_000 }, () => {
  let project: Awaited<ReturnType<typeof tempDir>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let packed: Packed[];
  /** Each installed package's manifest, by name. */
  const manifests = new Map<string, Manifest>();
  let snippets: Map<string, string>;
  const installed = (name: string, ...p: string[]) => join(project.path, 'node_modules', name, ...p);

  before(async () => {
    [project, data, snippets] = await Promise.all([tempDir('rmq-edge-consumer-'), tempDir(), readmeSnippets()]);
    const { pack } = await import(join(ROOT, 'scripts/pack.mjs')) as { pack(o: { out: string }): Promise<Packed[]> };
    packed = await pack({ out: join(project.path, 'tarballs') });
    assert.ok(packed.length > 0, 'pnpm packed no package');

    const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:${p.filename}`]));
    await writeFile(join(project.path, 'package.json'), JSON.stringify({
      name: 'rocketmq-edge-consumer', private: true, type: 'module',
      dependencies: { ...dependencies, '@types/node': root.devDependencies['@types/node'] },
    }, null, 2));
    // Nothing from the npm test run that started us (npm_config_* would point npm at the workspace).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^NODE_OPTIONS$/i.test(k)));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project.path, env, timeout: 180_000 });
    for (const p of packed) manifests.set(p.name, JSON.parse(await readFile(installed(p.name, 'package.json'), 'utf8')) as Manifest);

    await mkdir(join(project.path, 'src'), { recursive: true });
    for (const [file, title] of Object.entries(SNIPPETS)) {
      const code = snippets.get(title);
      assert.ok(code, `README snippet "${title}"`);
      await writeFile(join(project.path, 'src', file), code);
    }
  });

  after(async () => {
    await Promise.all([project?.remove(), data?.remove()]);
  });

  test('each tarball: LICENSE, metadata, what its exports name, no tests, no workspace: ranges', async () => {
    const license = await readFile(join(ROOT, 'LICENSE'), 'utf8');
    for (const p of packed) {
      const { stdout } = await run('tar', ['tzf', p.filename]);
      const files = new Set(stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
      const m = manifests.get(p.name)!;
      const raw = await readFile(installed(p.name, 'package.json'), 'utf8');
      assert.doesNotMatch(raw, /workspace:/, `${p.name}: workspace: ranges do not install`);
      assert.equal(m.license, 'Apache-2.0', p.name);
      assert.equal(await readFile(installed(p.name, 'LICENSE'), 'utf8'), license, `${p.name} ships the Apache-2.0 text`);
      assert.ok(m.keywords?.length, `${p.name}: keywords`);
      assert.ok(m.engines?.node, `${p.name}: engines.node`);
      const dir = m.repository?.directory;
      assert.ok(dir, `${p.name}: repository.directory`);
      assert.equal(JSON.parse(await readFile(join(ROOT, dir, 'package.json'), 'utf8')).name, p.name, `${p.name}: repository.directory is its folder`);

      const stray = [...files].filter((f) => /\.test\.|(^|\/)test-support\.|(^|\/)(fixtures?|__tests__)\/|\.tsbuildinfo$/.test(f));
      assert.deepEqual(stray, [], `${p.name} ships no tests, test helpers or fixtures`);
      for (const t of [...targets(m.exports), ...targets(m.imports), ...targets(m.bin)]) {
        assert.ok(files.has(posix.normalize(t)), `${p.name}: ${t} (named by its package.json) is in the tarball`);
      }
      for (const t of targets(m.exports).filter((t) => t.includes('/dist/') && t.endsWith('.js'))) {
        assert.ok(files.has(posix.normalize(t).replace(/\.js$/, '.d.ts')), `${p.name}: ${t} has declarations beside it`);
      }
      // Declaration maps lead into the shipped sources (go to definition lands in src/*.ts).
      for (const map of [...files].filter((f) => f.endsWith('.d.ts.map'))) {
        const { sources } = JSON.parse(await readFile(installed(p.name, map), 'utf8')) as { sources: string[] };
        for (const s of sources) assert.ok(files.has(posix.join(posix.dirname(map), s)), `${p.name}: ${map} → ${s}`);
      }
    }
  });

  test('every export of every package loads in plain Node (no "source" condition)', async () => {
    const specifiers = packed.flatMap((p) => Object.keys(manifests.get(p.name)!.exports ?? { '.': '' }).map((k) => posix.join(p.name, k)));
    const check = `for (const s of ${JSON.stringify(specifiers)}) {
      const m = await import(s);
      if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing');
    }
    console.log('loaded', ${specifiers.length});`;
    await writeFile(join(project.path, 'load-all.mjs'), check);
    const { stdout } = await run(process.execPath, ['load-all.mjs'], { cwd: project.path, env: { PATH: process.env.PATH } });
    assert.equal(stdout.trim(), `loaded ${specifiers.length}`);
  });

  test('the declarations type-check in a strict consumer: NodeNext and bundler resolution, Node and browser libs', async () => {
    // Every export of every package, so a new package or entry without declarations fails here too.
    const all = packed.flatMap((p) => Object.keys(manifests.get(p.name)!.exports ?? { '.': '' }).map((k) => posix.join(p.name, k)));
    const reexport = (list: string[]) => list.map((s, i) => `export * as m${i} from '${s}';\n`).join('');
    await writeFile(join(project.path, 'src/all-exports.ts'), reexport(all.filter((s) => !BROWSER_ONLY.has(s) && !NODE_AND_DOM.has(s))));
    await writeFile(join(project.path, 'src/test-suite-exports.ts'), reexport(all.filter((s) => NODE_AND_DOM.has(s))));
    await writeFile(join(project.path, 'src/browser-exports.ts'), reexport(all.filter((s) => BROWSER_ONLY.has(s))));
    await writeFile(join(project.path, 'src/node-consumer.ts'), NODE_CONSUMER);
    await writeFile(join(project.path, 'src/browser-consumer.ts'), BROWSER_CONSUMER);
    const strict = {
      target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true, noImplicitOverride: true, isolatedModules: true,
    };
    const runtimes = {
      node: { lib: ['ES2022'], types: ['node'], files: ['src/node-consumer.ts', 'src/all-exports.ts', ...Object.keys(SNIPPETS).map((f) => `src/${f}`)] },
      browser: { lib: ['ES2022', 'DOM'], types: [], files: ['src/browser-consumer.ts', 'src/browser-exports.ts'] },
      'test-suite': { lib: ['ES2022', 'DOM'], types: ['node'], files: ['src/test-suite-exports.ts'] },
    };
    const resolutions = { nodenext: { module: 'NodeNext', moduleResolution: 'NodeNext' }, bundler: { module: 'ESNext', moduleResolution: 'Bundler' } };
    const configs: string[] = [];
    for (const [runtime, { files, ...libs }] of Object.entries(runtimes)) {
      for (const [resolution, options] of Object.entries(resolutions)) {
        configs.push(join(project.path, `tsconfig.${runtime}.${resolution}.json`));
        await writeFile(configs.at(-1)!, JSON.stringify({ compilerOptions: { ...strict, ...libs, ...options }, files }, null, 2));
      }
    }
    // One tsc process for the four (tsc -b shares the parsed lib and @types files between them):
    // a third of the time of four runs, on one core.
    const { stdout } = await run(process.execPath, [TSC, '-b', '--verbose', ...configs], { cwd: project.path })
      .catch((e: { stdout?: string; message: string }) => assert.fail(`tsc errors:\n${e.stdout || e.message}`));
    assert.equal(stdout.match(/Building project/g)?.length, configs.length, stdout);
  });

  test("the README's Node snippets publish through the installed rocketmq-edge command", async () => {
    const gateway = await GatewayProcess.start({
      port: await freePort(),
      dataDir: data.path,
      bin: { path: join(project.path, 'node_modules/.bin/rocketmq-edge'), cwd: project.path },
    });
    try {
      // An installed package ships no demo page: none is served or advertised (no "not built" page).
      assert.equal((await fetch(gateway.ready.url)).status, 404);
      const namesrvAddr = namesrvOf(gateway.ready);
      const tsx = import.meta.resolve('tsx');
      const snippet = async (file: keyof typeof SNIPPETS, env: Record<string, string>) => {
        const { stdout } = await run(process.execPath, ['--import', tsx, join('src', file)], {
          cwd: project.path, env: { PATH: process.env.PATH!, ...env }, timeout: 30_000,
        });
        return stdout.trim().split(/\s+/);
      };
      const stored = async (msgId: string | undefined) =>
        (await readAll({ namesrvAddr, topic: 'orders' })).find((m) => m.msgId === msgId);

      const [status, msgId, queueId, offset] = await snippet('node-ws.ts', { RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: gateway.ready.token! });
      assert.equal(status, 'SEND_OK');
      const viaGateway = await stored(msgId);
      assert.ok(viaGateway, 'the gateway snippet\'s message is stored');
      assert.equal(viaGateway.properties.KEYS, 'order-42');
      assert.deepEqual([viaGateway.queueId, viaGateway.queueOffset], [Number(queueId), Number(offset)]);

      const [tcpStatus, tcpMsgId] = await snippet('node-tcp.ts', { NAMESRV_ADDR: namesrvAddr });
      assert.equal(tcpStatus, 'SEND_OK');
      const viaTcp = await stored(tcpMsgId);
      assert.ok(viaTcp, 'the TCP snippet\'s message is stored');
      assert.equal(new TextDecoder().decode(viaTcp.body), 'hello');
      assert.equal(viaTcp.properties.TAGS, 'tcp');
    } finally {
      const code = await gateway.stop();
      assert.equal(code, 0, gateway.output.slice(-20).join('\n'));
    }
  });
});
