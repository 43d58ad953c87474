// The error answers of the HTTP publish endpoints: JSON {"code","remark"} with an HTTP status.
import { ResponseCode } from '@rocketmq-edge/core/internal';
import type { RefusalReason } from './metrics.js';

/**
 * An HTTP publish that ends in an error answer: its status, the code and remark of the JSON body,
 * and, for a refusal (the client's doing), the reason counted in rocketmq_edge_refusals_total.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: number,
    readonly remark: string,
    readonly reason?: RefusalReason,
    /** Extra response headers (retry-after, www-authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(remark);
  }
}

export const badRequest = (remark: string, reason: RefusalReason = 'malformed'): HttpError =>
  new HttpError(400, ResponseCode.MESSAGE_ILLEGAL, remark, reason);
