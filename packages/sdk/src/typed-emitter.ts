export type Listener<T> = (context: T) => void;

/**
 * A small event emitter typed by an event map (`{ eventName: ContextType }`), used by
 * composition (the client and each subscription own one) rather than inheritance, so
 * `emit` is not part of their public API.
 *
 * A listener that throws must not leave a state machine half way through a transition, so
 * the error is re-thrown on a fresh microtask: it surfaces as an uncaught error (visible,
 * never swallowed) while the SDK finishes what it was doing.
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (context) => {
      off();
      listener(context);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  emit<K extends keyof Events>(event: K, context: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    // Copy: a listener may add or remove listeners while we iterate.
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(context);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
