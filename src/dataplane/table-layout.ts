// Word layout of the forwarding table (see table.ts). Shared by the builder, the reader and
// the selection functions, so none of them depends on another for a constant.

import { DOWN_POLICIES, MAX_OBJECT_ID, METHODS } from "../config/model.ts";

/** Server and target ids must be below this: sessions and counters are arrays indexed by id. */
export const ID_LIMIT = MAX_OBJECT_ID + 1;
/** Weights above this would let a weighted pick overflow 32-bit cumulative sums. */
export const MAX_WEIGHT = 65535;

export const TARGET_STATES = ["pending", "up", "down", "disabled"] as const;
export type TargetState = (typeof TARGET_STATES)[number];
export const TARGET_UP = TARGET_STATES.indexOf("up");
export const TARGET_DOWN = TARGET_STATES.indexOf("down");
export const TARGET_DISABLED = TARGET_STATES.indexOf("disabled");

export const METHOD_RR = METHODS.indexOf("rr");
export const METHOD_RANDOM = METHODS.indexOf("random");
export const METHOD_HASH = METHODS.indexOf("hash");
export const METHOD_SESSION = METHODS.indexOf("session");
export const METHOD_WRR = METHODS.indexOf("wrr");
export const METHOD_WRANDOM = METHODS.indexOf("wrandom");
export const METHOD_FIRST = METHODS.indexOf("first");
export const METHOD_MAGLEV = METHODS.indexOf("maglev");
export const METHOD_AGENT = METHODS.indexOf("agent");
export const METHOD_BANDWIDTH = METHODS.indexOf("bandwidth");

export const DOWN_POLICY_RESCHEDULE = DOWN_POLICIES.indexOf("reschedule");
export const DOWN_POLICY_HOLD = DOWN_POLICIES.indexOf("hold");
export const DOWN_POLICY_RESET = DOWN_POLICIES.indexOf("reset");

export const MAGIC = 0x424e4701;

// Header words.
export const H_MAGIC = 0;
export const H_GENERATION = 1;
export const H_OWN_MAC_HIGH = 2;
export const H_OWN_MAC_LOW = 3;
export const H_SERVER_COUNT = 4;
export const H_TARGET_COUNT = 5;
export const H_VIP_MASK = 6;
export const H_VIP_AT = 7;
export const H_SERVERS_AT = 8;
export const H_TARGETS_AT = 9;
export const H_TARGET_ID_MAP_AT = 10;
export const H_TARGET_IP_MASK = 11;
export const H_TARGET_IP_AT = 12;
export const H_WORD_COUNT = 13;
/** Start of the servers' member bitsets: per server, bit i set when target i is in its `targets` or `backup`. */
export const H_MEMBERS_AT = 14;
/** Words per server in the member bitsets. */
export const H_MEMBER_WORDS = 15;
/** `set newsessions`: new sessions a second, all workers together (admission.ts). */
export const H_NEW_SESSIONS_PER_S = 16;
/** `set fintimeout`: idle seconds a session has left once its client sent TCP FIN or RST. */
export const H_FIN_TIMEOUT_S = 17;
/** The MAC -> target hash: mask and word index (see TARGET_MAC_*). */
export const H_TARGET_MAC_MASK = 18;
export const H_TARGET_MAC_AT = 19;
export const HEADER_WORDS = 20;

// VIP hash slot: one per distinct VIP address; servers of that address are contiguous.
export const VIP_IP = 0;
export const VIP_FIRST_SERVER = 1;
/** Number of servers on the address; 0 marks an empty slot. */
export const VIP_SERVER_COUNT = 2;
/** 1 when an enabled server uses the address: bng answers ARP and ping for it. */
export const VIP_ANSWERS = 3;
export const VIP_STRIDE = 4;

export const S_ID = 0;
export const S_IP = 1;
export const S_PORT = 2;
export const S_PROTOCOL = 3;
export const S_METHOD = 4;
export const S_ENABLED = 5;
export const S_TIMEOUT_S = 6;
/** 1 when sessions are keyed by client address and port ("clientport" persistence). */
export const S_KEY_PORT = 7;
/** Word index of the active list: [target index, cumulative weight] pairs. */
export const S_ACTIVE_AT = 8;
export const S_ACTIVE_COUNT = 9;
/** 1 when no primary target is selectable and the active list holds backups. */
export const S_USING_BACKUP = 10;
export const S_TOTAL_WEIGHT = 11;
export const S_WRR_STRIDE = 12;
/**
 * Element index into `maglev` of this server's consistent-hash table, -1 when its active list is
 * empty. Every server has one: method maglev picks with it, and every method serves new clients
 * with it while new sessions are refused (flood defence).
 */
export const S_MAGLEV_AT = 13;
export const S_MAGLEV_SIZE = 14;
/** `downpolicy`: DOWN_POLICY_*. */
export const S_DOWN_POLICY = 15;
export const SERVER_STRIDE = 16;

export const ACTIVE_STRIDE = 2;
export const ACTIVE_TARGET = 0;
export const ACTIVE_CUMULATIVE_WEIGHT = 1;

export const T_ID = 0;
export const T_IP = 1;
export const T_PORT = 2;
export const T_MAC_HIGH = 3;
export const T_MAC_LOW = 4;
export const T_MAC_KNOWN = 5;
export const T_STATE = 6;
export const T_WEIGHT = 7;
/** Next target index with the same address (several targets may share a host), or -1. */
export const T_NEXT_SAME_IP = 8;
export const TARGET_STRIDE = 9;

export const TARGET_IP_STRIDE = 2;
export const TARGET_IP_ADDR = 0;
/** First target index with this address plus one; 0 marks an empty slot. */
export const TARGET_IP_FIRST_PLUS_ONE = 1;

/** Size of the consistent-hash table of a server whose method is not maglev (prime, above ID_LIMIT). */
export const STATELESS_MAGLEV_SIZE = 4099;

/** MAC -> first target index with that MAC (known MACs only), for ARP frames that carry a target's MAC. */
export const TARGET_MAC_STRIDE = 3;
export const TARGET_MAC_HIGH = 0;
export const TARGET_MAC_LOW = 1;
/** First target index with this MAC plus one; 0 marks an empty slot. */
export const TARGET_MAC_FIRST_PLUS_ONE = 2;
