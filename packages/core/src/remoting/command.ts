// RemotingCommand: one request, response or oneway frame of the RocketMQ remoting protocol.
import { FLAG_ONEWAY, FLAG_RESPONSE, VERSION_4_9_8 } from './codes.js';

// Defined in codes.ts, which imports nothing: esbuild inlines them from there.
export { FLAG_ONEWAY, FLAG_RESPONSE };

export type SerializeType = 'JSON' | 'ROCKETMQ';

export interface RemotingCommand {
  code: number;
  /** LanguageCode name, e.g. "JAVA". */
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string;
  /**
   * Custom header fields, every value a string. Undefined = no `extFields` key at all,
   * `{}` = an empty map (real servers send both shapes). Written in insertion order:
   * builders order keys the way Java does (see javaHashMapOrder).
   */
  extFields?: Record<string, string>;
  body?: Uint8Array;
  serializeType: SerializeType;
}

export const isResponse = (c: RemotingCommand): boolean => (c.flag & FLAG_RESPONSE) !== 0;
export const isOneway = (c: RemotingCommand): boolean => (c.flag & FLAG_ONEWAY) !== 0;

export interface RequestOptions {
  body?: Uint8Array;
  serializeType?: SerializeType;
  language?: string;
  version?: number;
  oneway?: boolean;
}

/** A request as a 4.9.8 Java client writes it; opaque is set by the RemotingClient. */
export function createRequest(code: number, extFields?: Record<string, string>, opts: RequestOptions = {}): RemotingCommand {
  const cmd: RemotingCommand = {
    code,
    language: opts.language ?? 'JAVA',
    version: opts.version ?? VERSION_4_9_8,
    opaque: 0,
    flag: opts.oneway ? FLAG_ONEWAY : 0,
    serializeType: opts.serializeType ?? 'JSON',
  };
  if (extFields) cmd.extFields = extFields;
  if (opts.body) cmd.body = opts.body;
  return cmd;
}

/** A response to `request`: same opaque and serialize type, response flag set. */
export function createResponse(
  request: RemotingCommand,
  code: number,
  remark?: string,
  extFields?: Record<string, string>,
  body?: Uint8Array,
): RemotingCommand {
  const cmd: RemotingCommand = {
    code,
    language: 'JAVA',
    version: VERSION_4_9_8,
    opaque: request.opaque,
    flag: FLAG_RESPONSE,
    serializeType: request.serializeType,
  };
  if (remark !== undefined) cmd.remark = remark;
  if (extFields) cmd.extFields = extFields;
  if (body) cmd.body = body;
  return cmd;
}
