// Which half messages a session may end (END_TRANSACTION): those its own sends stored, and those a
// broker's check-back asked it about. Without a ticket an END_TRANSACTION is never relayed, so a
// client cannot commit or roll back someone else's half message by guessing its offsets.

/** Open transactions one session may hold; beyond it the oldest ticket is forgotten (its broker checks back later). */
export const MAX_TRANSACTION_TICKETS = 1024;

/** END_TRANSACTION's commitOrRollback values (MessageSysFlag TRANSACTION_*_TYPE). */
export const TRANSACTION_NOT_TYPE = 0;
export const TRANSACTION_COMMIT_TYPE = 8;
export const TRANSACTION_ROLLBACK_TYPE = 12;

interface Ticket { group: string; msgIds: string[] }

export class TransactionTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly max = MAX_TRANSACTION_TICKETS) {}

  get size(): number {
    return this.tickets.size;
  }

  /** `broker`: the broker's address; offsets as the END_TRANSACTION header will carry them. */
  add(broker: string, commitLogOffset: string, tranStateTableOffset: string, group: string, msgIds: string[]): void {
    const key = `${broker}|${commitLogOffset}|${tranStateTableOffset}`;
    this.tickets.delete(key);
    if (this.tickets.size >= this.max) this.tickets.delete(this.tickets.keys().next().value!);
    this.tickets.set(key, { group, msgIds });
  }

  /**
   * Whether an END_TRANSACTION for these fields ends a half message of this session; a commit or
   * rollback uses the ticket up (an UNKNOW keeps it, the broker will ask again).
   */
  use(broker: string, h: { commitLogOffset: string; tranStateTableOffset: string; producerGroup: string; msgId: string; commitOrRollback: string }): boolean {
    const key = `${broker}|${h.commitLogOffset}|${h.tranStateTableOffset}`;
    const t = this.tickets.get(key);
    if (!t || t.group !== h.producerGroup || !t.msgIds.includes(h.msgId)) return false;
    if (Number(h.commitOrRollback) !== TRANSACTION_NOT_TYPE) this.tickets.delete(key);
    return true;
  }
}
