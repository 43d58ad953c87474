#!/usr/bin/env node
// Embedded RocketMQ name server + broker from the command line.
//   node --conditions=source --import tsx packages/broker/src/cli.ts --namesrv-port 9876 --broker-port 10911 --data ./data
// Prints one JSON line on stdout when ready: {"namesrvAddr":"127.0.0.1:9876","brokerAddr":"127.0.0.1:10911",...}
import { parseArgs } from 'node:util';
import { startBroker, startNameServer, type Broker, type NameServer } from './index.js';
import { consoleLogger } from './logger.js';
import { parseAclAccount, type AclAccount } from './broker/acl.js';

const HELP = `Usage: rocketmq-edge-broker [options]

Runs an embedded RocketMQ name server and broker (real remoting protocol over TCP).

  --host <ip>            listen address (default 127.0.0.1)
  --namesrv-port <n>     name server port (default 9876; 0 = any free port)
  --broker-port <n>      broker port (default 10911; 0 = any free port)
  --data <dir>           data directory (default ./rocketmq-data)
  --namesrv <h:p[;h:p]>  register with these existing name servers instead of starting one
  --no-namesrv           do not start a name server (the broker runs unregistered unless --namesrv)
  --name <name>          broker name (default broker-a)
  --cluster <name>       cluster name (default DefaultCluster)
  --flush sync|async     SYNC: fsync before each ack; ASYNC (default): fsync every 500 ms
  --no-auto-create       refuse sends to unknown topics (no TBW102)
  --transaction-check-interval <ms>  how often half messages are checked back (default 60000)
  --transaction-timeout <ms>         a half message younger than this is not checked yet (default 6000)
  --transaction-check-max <n>        checks before a half message is discarded (default 15)
  --reject-transaction-message       refuse transactional messages (NO_PERMISSION)
  --no-store-reply                   push replies without also storing them in <cluster>_REPLY_TOPIC
  --acl-account <ak:sk>              turn ACL on: requests must be signed by this account (repeat for more)
  --verbose              log to stderr
  --help                 this text

Prints one JSON line with the addresses on stdout when ready; SIGTERM / SIGINT close it gracefully.`;

function fail(msg: string): never {
  process.stderr.write(`rocketmq-edge-broker: ${msg}\n\n${HELP}\n`);
  process.exit(2);
}

function count(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) fail(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function port(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string' },
        'namesrv-port': { type: 'string' },
        'broker-port': { type: 'string' },
        data: { type: 'string' },
        namesrv: { type: 'string' },
        'no-namesrv': { type: 'boolean' },
        name: { type: 'string' },
        cluster: { type: 'string' },
        flush: { type: 'string' },
        'no-auto-create': { type: 'boolean' },
        'transaction-check-interval': { type: 'string' },
        'transaction-timeout': { type: 'string' },
        'transaction-check-max': { type: 'string' },
        'reject-transaction-message': { type: 'boolean' },
        'no-store-reply': { type: 'boolean' },
        'acl-account': { type: 'string', multiple: true },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const flush = (values.flush ?? 'async').toLowerCase();
  if (flush !== 'sync' && flush !== 'async') fail(`--flush must be sync or async, got "${values.flush}"`);
  const host = values.host ?? '127.0.0.1';
  let aclAccounts: AclAccount[] | undefined;
  try {
    aclAccounts = values['acl-account']?.map(parseAclAccount);
  } catch (e) {
    fail((e as Error).message);
  }
  const logger = values.verbose ? consoleLogger(true) : consoleLogger(false);

  let namesrv: NameServer | undefined;
  let broker: Broker | undefined;
  let namesrvAddr = values.namesrv;
  if (!namesrvAddr && !values['no-namesrv']) {
    namesrv = await startNameServer({ host, port: port(values['namesrv-port'], 9876, '--namesrv-port'), logger });
    namesrvAddr = namesrv.addr;
  }
  try {
    broker = await startBroker({
      namesrvAddr,
      dataDir: values.data ?? './rocketmq-data',
      host,
      port: port(values['broker-port'], 10911, '--broker-port'),
      brokerName: values.name ?? 'broker-a',
      clusterName: values.cluster ?? 'DefaultCluster',
      flushDiskType: flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
      autoCreateTopicEnable: !values['no-auto-create'],
      transactionCheckIntervalMs: count(values['transaction-check-interval'], '--transaction-check-interval', 1),
      transactionTimeoutMs: count(values['transaction-timeout'], '--transaction-timeout', 0),
      transactionCheckMax: count(values['transaction-check-max'], '--transaction-check-max', 1),
      rejectTransactionMessage: values['reject-transaction-message'] ?? false,
      storeReplyMessageEnable: !values['no-store-reply'],
      aclAccounts,
      logger,
    });
  } catch (e) {
    await namesrv?.close();
    throw e;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger('info', `${signal}: closing`);
    await broker?.close();
    await namesrv?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  process.stdout.write(
    `${JSON.stringify({
      namesrvAddr: namesrvAddr ?? null,
      brokerAddr: broker.addr,
      brokerName: broker.brokerName,
      clusterName: broker.clusterName,
      dataDir: broker.dataDir,
      flush: flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
      pid: process.pid,
    })}\n`,
  );
}

main().catch((e: Error) => {
  process.stderr.write(`rocketmq-edge-broker: ${e.message}\n`);
  process.exit(1);
});
