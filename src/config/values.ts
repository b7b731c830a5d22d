// Values written in a configuration, read from their source text. Numbers stay text until
// they are known to be small enough to be exact, so a digit run of any length is an error
// that quotes what was written, never a hang, a rounded value or JavaScript's `1e+23`.
import { excerpt } from "./errors.ts";

/** The largest number any parameter takes: `set announce`'s 32-bit routing table ids. */
export const LARGEST_NUMBER = 4294967295;

/** Decimal digits as their exact value; undefined when that exceeds LARGEST_NUMBER, however long the text. */
export function wholeNumber(digits: string): number | undefined {
  if (!/^[0-9]+$/.test(digits)) return undefined;
  let start = 0;
  while (start < digits.length - 1 && digits[start] === "0") start++;
  // Ten digits or fewer are exact in a double; more cannot be in range.
  if (digits.length - start > 10) return undefined;
  const value = Number(digits.slice(start));
  return value <= LARGEST_NUMBER ? value : undefined;
}

/** Whether `digits` is a whole number from min to max: compared as text first, so any length is cheap. */
export function isWholeNumberIn(digits: string, min: number, max: number): boolean {
  const value = wholeNumber(digits);
  return value !== undefined && value >= min && value <= max;
}

/** A dotted IPv4 address as an unsigned 32-bit integer, or why it is not one. */
export function parseDottedAddress(text: string): { ok: true; value: number } | { ok: false; reason: string } {
  const parts = text.split(".", 5);
  if (parts.length !== 4 || parts.some((part) => !/^[0-9]{1,3}$/.test(part))) {
    return { ok: false, reason: "expected an IPv4 address: four numbers 0-255 separated by dots, e.g. 172.16.1.10" };
  }
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (octet > 255) return { ok: false, reason: `expected an IPv4 address, whose four numbers are 0-255 (${part} is not)` };
    value = value * 256 + octet;
  }
  return { ok: true, value };
}

/** parseDottedAddress's value, or undefined for text that is not a dotted IPv4 address. */
export function dottedAddress(text: string): number | undefined {
  const parsed = parseDottedAddress(text);
  return parsed.ok ? parsed.value : undefined;
}

export interface ListItem {
  value: number;
  /** Offset of the item (or of the range it came from) inside the list's text. */
  offset: number;
}

/** What a list holds, for its bounds and messages: ids are 1-MAX_OBJECT_ID. */
export interface ListBounds {
  min: number;
  max: number;
  /** One item, with an article: "an id". */
  what: string;
}

/** A list names a few ids, not millions: more items than this is an error before anything is expanded. */
export const MAX_LIST_LENGTH = 65536;

/**
 * `1,2,5-8` expanded to its numbers, or the first malformed item and where it is. Every item
 * and both ends of every range are bounded before a range is expanded, and the total is
 * bounded too, so the work is at most MAX_LIST_LENGTH items whatever the text says.
 */
export function parseNumberList(text: string, bounds: ListBounds): { ok: true; items: ListItem[] } | { ok: false; offset: number; reason: string } {
  const items: ListItem[] = [];
  for (let offset = 0; offset <= text.length; ) {
    const comma = text.indexOf(",", offset);
    const end = comma < 0 ? text.length : comma;
    const part = text.slice(offset, end);
    const range = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!range) {
      const reason =
        part === ""
          ? "empty list item: expected a number between the commas (lists are written without spaces, e.g. `1,2,5-8`)"
          : `\`${excerpt(part)}\` is not a number or a range FROM-TO`;
      return { ok: false, offset, reason };
    }
    const from = wholeNumber(range[1]!);
    const to = range[2] === undefined ? from : wholeNumber(range[2]);
    if (from === undefined || to === undefined || from < bounds.min || to > bounds.max || (range[2] !== undefined && to < bounds.min)) {
      return { ok: false, offset, reason: `expected ${bounds.what} (a whole number ${bounds.min}-${bounds.max}), found \`${excerpt(part)}\`` };
    }
    if (to < from) return { ok: false, offset, reason: `range \`${part}\` runs backwards: expected FROM-TO with FROM <= TO` };
    if (items.length + (to - from) >= MAX_LIST_LENGTH) return { ok: false, offset, reason: `\`${part}\` makes the list too long: at most ${MAX_LIST_LENGTH} numbers` };
    for (let value = from; value <= to; value++) items.push({ value, offset });
    if (comma < 0) break;
    offset = comma + 1;
  }
  return { ok: true, items };
}

/**
 * `80,3,10`: exactly `count` whole numbers separated by commas; undefined when the text is
 * anything else (a range, a stray character, too many or too few numbers). A number beyond
 * LARGEST_NUMBER reads as Infinity, out of every range, so the caller's message about that
 * position applies. Looks at no more than count + 1 items of a long text.
 */
export function readTuple(text: string, count: number): number[] | undefined {
  const parts = text.split(",", count + 1);
  if (parts.length !== count) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]+$/.test(part)) return undefined;
    numbers.push(wholeNumber(part) ?? Infinity);
  }
  return numbers;
}
