// Admission of new sessions (flood defence): all workers together create at most `set
// newsessions` sessions a second. Above that, the processor serves new clients statelessly (by
// consistent hashing, without a session) so that a spoofed-source flood cannot fill the session
// table with itself and push out the clients bng already serves.
//
// The budget is one word pair in the session table's header (shared memory): the second it is
// for and what is left of it. The first worker to see a new second refills it (compare-and-swap
// on the second, so only one does). Workers take tokens in chunks of up to CHUNK and spend them
// locally, so a new session costs an atomic operation only every CHUNK sessions; a chunk left
// over when the second changes is dropped, so the workers never create more than the budget in
// one second. Once the budget is spent, a refusal reads the shared word without writing it.

/** Words the session table reserves for admission (sessions.ts header). */
export const ADMISSION_WORDS = 4;
/** The session second the budget is for. */
const A_SECOND = 0;
/** Tokens left in that second (negative after a last, partial take). */
const A_LEFT = 1;
/** The last second in which a new session was refused. */
const A_LAST_REFUSED_S = 2;

/** Tokens a worker takes from the shared budget at a time. */
const CHUNK = 64;
/** "Long ago": no refusal yet. Far enough back that now - it never underflows a window. */
const NEVER = -(2 ** 30);

/** Sets a new table's admission words: no budget taken yet, no refusal yet. */
export function resetAdmission(words: Int32Array): void {
  Atomics.store(words, A_SECOND, NEVER);
  Atomics.store(words, A_LEFT, 0);
  Atomics.store(words, A_LAST_REFUSED_S, NEVER);
}

/** One worker's view of the shared budget (the words from `SessionTable.admissionWords`). */
export class SessionAdmission {
  /** Tokens this worker took for `localSecond` and has not spent. */
  private localLeft = 0;
  private localSecond = NEVER;

  constructor(private readonly words: Int32Array) {}

  /** Whether one more new session may be created in second `nowS` under a budget of `perSecond`; a refusal is recorded. */
  admit(nowS: number, perSecond: number): boolean {
    if (this.localLeft > 0 && this.localSecond === nowS) {
      this.localLeft--;
      return true;
    }
    if (this.take(nowS, perSecond)) return true;
    const words = this.words;
    if (words[A_LAST_REFUSED_S] !== nowS) words[A_LAST_REFUSED_S] = nowS;
    return false;
  }

  /**
   * Whether a new session was refused within the last `windowS` seconds: then a client without
   * a session may be one that was served statelessly, and must keep the consistent-hash target.
   */
  refusedWithin(nowS: number, windowS: number): boolean {
    return nowS - (this.words[A_LAST_REFUSED_S] ?? NEVER) < windowS;
  }

  /** Takes a chunk from the shared budget (refilled first when the second is new); false when it is spent. */
  private take(nowS: number, perSecond: number): boolean {
    const words = this.words;
    const second = words[A_SECOND] ?? NEVER;
    if (second < nowS && Atomics.compareExchange(words, A_SECOND, second, nowS) === second) {
      Atomics.store(words, A_LEFT, perSecond);
    }
    // A plain read first: while the budget is spent (a flood), refusals write nothing shared.
    if ((words[A_LEFT] ?? 0) <= 0) return false;
    const before = Atomics.sub(words, A_LEFT, CHUNK);
    if (before <= 0) return false;
    this.localLeft = (before < CHUNK ? before : CHUNK) - 1;
    this.localSecond = nowS;
    return true;
  }
}
