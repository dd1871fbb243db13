/**
 * A string-enum state machine with its legal transitions written down in one table. A
 * transition outside the table is a bug in the SDK, so it throws instead of leaving the
 * client in a state nobody designed.
 */
export class StateMachine<S extends string> {
  readonly #name: string;
  readonly #transitions: Readonly<Record<S, readonly S[]>>;
  #state: S;

  constructor(name: string, initial: S, transitions: Readonly<Record<S, readonly S[]>>) {
    this.#name = name;
    this.#state = initial;
    this.#transitions = transitions;
  }

  get state(): S {
    return this.#state;
  }

  canMoveTo(next: S): boolean {
    return this.#transitions[this.#state].includes(next);
  }

  /** Moves to `next` and returns the state it left. */
  moveTo(next: S): S {
    const previous = this.#state;
    if (!this.canMoveTo(next)) throw new Error(`${this.#name}: illegal transition ${previous} -> ${next}`);
    this.#state = next;
    return previous;
  }
}
