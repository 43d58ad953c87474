// Inbound binary messages: one envelope, or (wire version 3) a FRAMES message of several. Every
// envelope and its remoting frame is decoded here, once, before anything of the message is relayed;
// the session then relays each frame under exactly the checks a single frame gets.
import { decodeCommand, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { FRAMES_VERSION, HEADER_FRAMES, MAX_FRAMES_BYTES, decodeEnvelopes, type Envelope } from '@rocketmq-edge/transport-ws/envelope';
import type { GatewayLimits } from './options.js';

export interface InboundFrame {
  target: string;
  cmd: RemotingCommand;
  /** Bytes of the remoting frame (what maxFrameBytes bounds). */
  size: number;
  budgetMs: number | undefined;
}

/** The most bytes of one FRAMES message this gateway reads (its hello's `frames`), 0 when pinned below version 3. */
export function framesBytes(l: Pick<GatewayLimits, 'wireVersion' | 'maxFrameBytes'>): number {
  return l.wireVersion >= FRAMES_VERSION ? Math.min(MAX_FRAMES_BYTES, l.maxFrameBytes) : 0;
}

/**
 * The frames of one binary message, or why it is a protocol violation (the connection is closed
 * with 4400 and nothing of the message is relayed): a bad envelope or FRAMES structure (a length
 * of 0 or past the end, a nested FRAMES message), a FRAMES message larger than `maxFramesBytes`
 * (0: FRAMES are not read at all), an undecodable remoting frame in any envelope.
 */
export function decodeInbound(buf: Uint8Array, maxFramesBytes: number, maxDecodeBytes: number): InboundFrame[] | string {
  if (buf[0] === HEADER_FRAMES && buf.length > maxFramesBytes) {
    return maxFramesBytes
      ? `FRAMES message of ${buf.length} bytes (this gateway's limit is ${maxFramesBytes}, its hello's "frames")`
      : 'bad envelope: FRAMES messages need wire version 3 (this gateway\'s hello says 2)';
  }
  let envs: Envelope[];
  try {
    envs = decodeEnvelopes(buf);
  } catch (e) {
    return `bad envelope: ${(e as Error).message}`;
  }
  const out: InboundFrame[] = [];
  for (const env of envs) {
    try {
      out.push({ target: env.target, cmd: decodeCommand(env.frame, { maxFrameSize: maxDecodeBytes }), size: env.frame.length, budgetMs: env.budgetMs });
    } catch (e) {
      const which = envs.length > 1 ? ` (envelope ${out.length + 1} of ${envs.length})` : '';
      return `undecodable remoting frame${which}: ${(e as Error).message}`;
    }
  }
  return out;
}
