// A Transport decorator for tests: the frames go through the real transport unchanged, and every
// request written is also decoded and kept, so a test can tell what went on the wire (for example
// single sends from automatic batches).
import { decodeCommand } from '../remoting/codec.js';
import { isResponse, type RemotingCommand } from '../remoting/command.js';
import type { Transport } from '../transport.js';

export interface RecordedRequest { target: string; cmd: RemotingCommand }

/** `transport`, recording into `requests` every request it writes (responses to the peer are left out). */
export function recordRequests(transport: Transport): { transport: Transport; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    transport: {
      close: () => transport.close(),
      async connect(target, handlers, signal) {
        const conn = await transport.connect(target, handlers, signal);
        return {
          target: conn.target,
          headroom: conn.headroom,
          send(frame, headroom, timeoutMs) {
            const cmd = decodeCommand(frame.slice());
            if (!isResponse(cmd)) requests.push({ target, cmd });
            conn.send(frame, headroom, timeoutMs);
          },
          close: () => conn.close(),
        };
      },
    },
  };
}
