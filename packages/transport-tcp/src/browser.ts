// What bundlers resolve through the `browser` export condition: node:net does not exist in browsers,
// so importing this package there fails at once with a message that says what to use instead.
const MESSAGE =
  '@rocketmq-edge/transport-tcp is for Node (it needs node:net); use @rocketmq-edge/transport-ws in browsers';

throw new Error(MESSAGE);

/** Never constructed: the module throws when it loads. Present so imports type-check and bundle. */
export class TcpTransport {
  constructor() {
    throw new Error(MESSAGE);
  }
}
