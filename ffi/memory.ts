// Transparent huge pages for large shared tables. The session table is read at random, one
// cache line per frame, over megabytes (the default table spans about 1,500 4 KiB pages, more
// than the TLB holds beside the kernel's own entries), so a lookup usually misses the TLB too and
// walks the page tables. 2 MiB pages cover the table with a handful of TLB entries.
//
// Bun turns transparent huge pages off for its whole process (prctl PR_SET_THP_DISABLE), so
// madvise alone is ignored; bng turns them back on (a no-op where they are on, as on Deno). Where THP is "madvise" (the common default)
// only regions bng advises get huge pages; the rest of the heap is unaffected.
import { errnoName } from "../src/errno.ts";
import { lastErrno, libc } from "./libc.ts";
import { native } from "./native.ts";

const PR_SET_THP_DISABLE = 41;
const MADV_HUGEPAGE = 14;
/** Linux 6.1+: collapse the already-populated pages of the range into huge pages now. */
const MADV_COLLAPSE = 25;
const HUGE_PAGE_BYTES = 2 << 20;

export interface HugePageAdvice {
  /** Bytes of the buffer inside whole 2 MiB pages: the part that was advised. */
  advisedBytes: number;
  /** Why the advice failed (an errno name and the call), or undefined when it was taken. */
  failure: string | undefined;
}

/**
 * Asks for huge pages under the whole 2 MiB pages inside `buffer`: pages not yet touched fault
 * in huge, and the few already populated are collapsed where the kernel can (MADV_COLLAPSE,
 * Linux 6.1+; where it cannot they stay small, which is harmless). Best effort: a kernel without
 * THP leaves the table on 4 KiB pages, which works the same, only slower; the reason is
 * returned for the log.
 */
export function adviseHugePages(buffer: SharedArrayBuffer): HugePageAdvice {
  const address = native.addressOf(new Uint8Array(buffer));
  const start = Math.ceil(address / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
  const end = Math.floor((address + buffer.byteLength) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
  if (end <= start) return { advisedBytes: 0, failure: undefined };
  const length = end - start;
  const startPointer = native.pointer(start);
  if (libc.prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) < 0) return { advisedBytes: 0, failure: `prctl(PR_SET_THP_DISABLE): ${errnoName(lastErrno())}` };
  if (libc.madvise(startPointer, length, MADV_HUGEPAGE) < 0) return { advisedBytes: 0, failure: `madvise(MADV_HUGEPAGE): ${errnoName(lastErrno())}` };
  libc.madvise(startPointer, length, MADV_COLLAPSE);
  return { advisedBytes: length, failure: undefined };
}
