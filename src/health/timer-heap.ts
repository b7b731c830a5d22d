// The monitor's schedule: due entries in a binary min-heap, ordered by time, then by insertion,
// so that one timer serves every check. A cancelled entry stays until it reaches the top.
export interface HeapEntry {
  atMs: number;
  order: number;
  cancelled: boolean;
  run(nowMs: number): void;
}

/** Due entries ordered by time, then by insertion. */
export class TimerHeap {
  private readonly entries: HeapEntry[] = [];
  private inserted = 0;

  get size(): number {
    return this.entries.length;
  }

  peek(): HeapEntry | undefined {
    return this.entries[0];
  }

  push(atMs: number, run: (nowMs: number) => void): HeapEntry {
    const entry: HeapEntry = { atMs, order: this.inserted++, cancelled: false, run };
    const entries = this.entries;
    entries.push(entry);
    let index = entries.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(entry, entries[parent]!)) break;
      entries[index] = entries[parent]!;
      index = parent;
    }
    entries[index] = entry;
    return entry;
  }

  pop(): HeapEntry | undefined {
    const entries = this.entries;
    const top = entries[0];
    const last = entries.pop();
    if (top === undefined || last === undefined || entries.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= entries.length) break;
      const right = left + 1;
      const child = right < entries.length && this.before(entries[right]!, entries[left]!) ? right : left;
      if (!this.before(entries[child]!, last)) break;
      entries[index] = entries[child]!;
      index = child;
    }
    entries[index] = last;
    return top;
  }

  clear(): void {
    this.entries.length = 0;
  }

  private before(a: HeapEntry, b: HeapEntry): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
  }
}
