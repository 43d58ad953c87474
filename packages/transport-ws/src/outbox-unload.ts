// The page-unload hand-over: what is still queued goes to the gateway's HTTP endpoint in requests
// the browser sends after the page is gone, within the 64 KiB browsers allow such bodies in
// flight. Nothing may be awaited there, so the credentials are kept ready beforehand.
//
// The form depends on where the gateway is. Same origin: `fetch(…, {keepalive: true})` with the
// Bearer token (no preflight; should the page live on, the answers settle the messages). Another
// origin: `navigator.sendBeacon` to /v1/beacon, text/plain with a short-lived publish-only beacon
// token in the body. Chromium does preflight a keepalive request with an Authorization header,
// even during unload, but the beacon form needs no preflight at the worst moment, behaves the same
// in every browser, and never puts the long-lived token in a request that outlives the page.
import { BeaconTokenKeeper } from './outbox-beacon.js';
import type { HttpSendResult } from './http.js';
import { beaconBody, bearerBody, packRequests, postMessages, resolveToken, utf8Length } from './outbox-http.js';
import { DEFAULT_UNLOAD_BUDGET_BYTES, type OutboxHttpOptions, type QueuedMessage } from './outbox-options.js';

/** Most messages in one request (the gateway's maxBatchMessages is 1024 by default). */
export const MAX_PER_REQUEST = 256;

export class UnloadFlush {
  readonly form: 'bearer' | 'beacon';
  readonly #o: OutboxHttpOptions;
  readonly #base: string;
  readonly #beacon: BeaconTokenKeeper | undefined;
  #bearer: string | undefined;
  /** Body bytes of this page's keepalive requests still in flight. */
  #inFlight = 0;

  constructor(o: OutboxHttpOptions, base: string, signal: AbortSignal) {
    this.#o = o;
    this.#base = base;
    const form = o.unloadForm ?? 'auto';
    this.form = form !== 'auto' ? form : globalThis.location && new URL(base).origin === globalThis.location.origin ? 'bearer' : 'beacon';
    if (this.form === 'beacon') this.#beacon = new BeaconTokenKeeper(base, () => resolveToken(o.token), signal);
  }

  /** Gets the credentials ready: the Bearer token now, a beacon token now and before each expiry. */
  async start(): Promise<void> {
    if (this.#beacon) this.#beacon.start();
    else this.#bearer = await resolveToken(this.#o.token).catch(() => undefined);
  }

  /**
   * Sends `messages` (oldest first) as far as the budget goes, synchronously; returns those sent.
   * `onAnswer` gets the gateway's results should the page live to read them (Bearer form).
   */
  send(messages: QueuedMessage[], onAnswer: (results: HttpSendResult[]) => void): QueuedMessage[] {
    const beaconToken = this.#beacon?.current();
    const bearer = this.#bearer;
    if (beaconToken === undefined && bearer === undefined) return []; // nothing to authenticate with: they stay queued
    const budget = (this.#o.unloadBudgetBytes ?? DEFAULT_UNLOAD_BUDGET_BYTES) - this.#inFlight;
    const sent: QueuedMessage[] = [];
    for (const req of packRequests(messages, budget, MAX_PER_REQUEST, beaconToken ? beaconBody(beaconToken) : bearerBody)) {
      if (beaconToken) {
        if (!navigator.sendBeacon(`${this.#base}/v1/beacon`, req.body)) break; // over the browser's quota
      } else {
        // The same body as packed: HttpProducer encodes the same messages the same way.
        const bytes = utf8Length(req.body);
        this.#inFlight += bytes;
        postMessages(this.#base, bearer!, req.messages, true)
          .then(onAnswer, () => { /* they stay queued, retried over HTTP by id */ })
          .finally(() => (this.#inFlight -= bytes));
      }
      sent.push(...req.messages);
    }
    return sent;
  }
}
