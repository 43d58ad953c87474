// The gateway's own producer (HTTP publishes) signs its requests with the gateway's ACL credentials,
// exactly as the relay signs what it forwards (acl.ts): a Transport around transport-tcp's that
// decodes each request frame once, signs it and encodes it again. Core needs no hook for it.
import {
  decodeCommand, encodeCommand, isResponse, type ConnectionHandlers, type Transport, type TransportConnection,
} from '@rocketmq-edge/core/internal';
import { signRequest, type AclCredentials } from './acl.js';

export class SigningTransport implements Transport {
  constructor(private readonly inner: Transport, private readonly acl: AclCredentials) {}

  async connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    const conn = await this.inner.connect(target, handlers, signal);
    const acl = this.acl;
    return {
      target: conn.target,
      // No headroom: every frame is encoded anew here, with the room the inner connection wants.
      send(frame, _headroom, timeoutMs) {
        const cmd = decodeCommand(frame);
        if (isResponse(cmd)) {
          conn.send(frame, 0, timeoutMs);
          return;
        }
        signRequest(cmd, acl);
        const room = conn.headroom ?? 0;
        conn.send(encodeCommand(cmd, room), room, timeoutMs);
      },
      close: () => conn.close(),
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
