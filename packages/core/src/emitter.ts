// A typed event emitter with eventemitter3's API (on, once, off, emit, …): every bundle that
// publishes ships it, so it is a tenth of that package's size. Listeners run in the order they were
// added; what a listener throws leaves emit(), as with eventemitter3; 'error' needs no listener.

/** An event's arguments: events are declared as argument tuples or as listener signatures. */
export type EventArgs<E, K extends keyof E> = E[K] extends (...args: infer A) => unknown ? A : E[K] extends unknown[] ? E[K] : never;
export type EventListener<E, K extends keyof E> = (...args: EventArgs<E, K>) => void;

interface Entry {
  fn_: (...args: unknown[]) => void;
  ctx_: unknown;
  once_: boolean;
}

export class EventEmitter<E extends object = Record<string | symbol, unknown[]>> {
  /** Listener lists, replaced (never changed in place) so that emit() walks a stable list. */
  readonly #events = new Map<keyof E, Entry[]>();

  #add<K extends keyof E>(event: K, fn: EventListener<E, K>, ctx: unknown, once: boolean): this {
    const events = this.#events;
    events.set(event, [...(events.get(event) ?? []), { fn_: fn as Entry['fn_'], ctx_: ctx, once_: once }]);
    return this;
  }

  on<K extends keyof E>(event: K, fn: EventListener<E, K>, context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  addListener<K extends keyof E>(event: K, fn: EventListener<E, K>, context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  once<K extends keyof E>(event: K, fn: EventListener<E, K>, context?: unknown): this {
    return this.#add(event, fn, context, true);
  }

  /** Removes the listeners `fn` (only once-listeners with `once`, only those of `context` with it); all of the event's without `fn`. */
  off<K extends keyof E>(event: K, fn?: EventListener<E, K>, context?: unknown, once?: boolean): this {
    const events = this.#events;
    const keep = fn ? (events.get(event) ?? []).filter((l) => l.fn_ !== fn || (once && !l.once_) || (context && l.ctx_ !== context)) : [];
    if (keep.length) events.set(event, keep);
    else events.delete(event);
    return this;
  }

  removeListener<K extends keyof E>(event: K, fn?: EventListener<E, K>, context?: unknown, once?: boolean): this {
    return this.off(event, fn, context, once);
  }

  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.#events.clear();
    else this.#events.delete(event);
    return this;
  }

  /** Calls the event's listeners with `args`; whether there were any. */
  emit<K extends keyof E>(event: K, ...args: EventArgs<E, K>): boolean {
    const list = this.#events.get(event);
    for (const l of list ?? []) {
      if (l.once_) this.off(event, l.fn_, undefined, true);
      l.fn_.apply(l.ctx_ ?? this, args);
    }
    return !!list;
  }

  listeners<K extends keyof E>(event: K): EventListener<E, K>[] {
    return (this.#events.get(event) ?? []).map((l) => l.fn_);
  }

  listenerCount(event: keyof E): number {
    return this.#events.get(event)?.length ?? 0;
  }

  eventNames(): (keyof E)[] {
    return [...this.#events.keys()];
  }
}
