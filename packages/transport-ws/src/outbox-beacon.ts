// Keeps a beacon token ready for the unload flush: sendBeacon cannot wait for a token request,
// so one is minted while the page lives and refreshed before it expires.
import { backoffDelay } from './transport.js';
import { mintBeaconToken } from './outbox-http.js';

/** A token this close to its expiry is not handed out: the beacon may arrive a little later. */
const EXPIRY_MARGIN_MS = 10_000;
const RETRY = { initialDelayMs: 2000, maxDelayMs: 60_000 };

/** expiresAt as ms since the epoch, from ms, seconds (JWT style) or an ISO date. */
const toMs = (v: number | string): number => (typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Date.parse(v));

export class BeaconTokenKeeper {
  #current: { token: string; expiresAt: number } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #base: string;
  readonly #bearer: () => Promise<string>;
  readonly #signal: AbortSignal;

  constructor(base: string, bearer: () => Promise<string>, signal: AbortSignal) {
    this.#base = base;
    this.#bearer = bearer;
    this.#signal = signal;
    signal.addEventListener('abort', () => clearTimeout(this.#timer));
  }

  start(): void {
    void this.#refresh(1);
  }

  /** A token valid for a while yet, or undefined. */
  current(): string | undefined {
    const c = this.#current;
    return c && c.expiresAt - Date.now() > EXPIRY_MARGIN_MS ? c.token : undefined;
  }

  async #refresh(attempt: number): Promise<void> {
    if (this.#signal.aborted) return;
    let next: number;
    try {
      const { token, expiresAt } = await mintBeaconToken(this.#base, await this.#bearer());
      this.#current = { token, expiresAt: toMs(expiresAt) };
      next = Math.max(EXPIRY_MARGIN_MS, (this.#current.expiresAt - Date.now()) * 0.75);
      attempt = 0;
    } catch {
      next = backoffDelay(attempt, RETRY);
    }
    if (!this.#signal.aborted) this.#timer = setTimeout(() => void this.#refresh(attempt + 1), next);
  }
}
