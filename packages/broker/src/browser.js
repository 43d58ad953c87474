// Picked by bundlers for browser targets: the embedded broker needs node:net and node:fs.
throw new Error(
  '@rocketmq-edge/broker runs only on Node (it needs node:net and node:fs). ' +
    'In a browser use @rocketmq-edge/core with @rocketmq-edge/transport-ws and a gateway.',
);
