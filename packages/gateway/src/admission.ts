// Gateway-wide fairness for upstream requests. Per-connection bounds alone let a hundred clients,
// each within its own limits, queue a hundred thousand requests at a broker in front of everyone
// else. Up to `cap` requests in flight, anyone may send (work-conserving); past it, only a
// connection below its fair share (cap / connections with requests in flight) may add one, so a
// well-behaved client always gets a slot and waits behind at most ~cap requests.
export class Admission {
  /** Requests in flight through this gateway. */
  total = 0;
  /** Connections with at least one request in flight. */
  busy = 0;

  constructor(readonly cap: number) {}

  /** May a connection that has `mine` requests in flight add one? */
  admits(mine: number): boolean {
    if (this.total < this.cap) return true;
    return mine < this.cap / (this.busy + (mine === 0 ? 1 : 0));
  }

  added(mine: number): void {
    this.total++;
    if (mine === 1) this.busy++;
  }

  removed(mine: number): void {
    this.total--;
    if (mine === 0) this.busy--;
  }
}
