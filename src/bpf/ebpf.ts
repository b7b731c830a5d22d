// eBPF instructions, written as bytes (struct bpf_insn, linux/bpf.h and
// Documentation/bpf/standardization/instruction-set.rst): the few bng's XDP program uses, and a
// tiny assembler that resolves jumps to named labels, so a program reads as a listing.

// Instruction classes, sizes, modes, operations and sources.
const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_STX = 0x03;
const BPF_JMP = 0x05;
const BPF_ALU64 = 0x07;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_DW = 0x18;
const BPF_IMM = 0x00;
const BPF_MEM = 0x60;
const BPF_ADD = 0x00;
const BPF_MOV = 0xb0;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_JA = 0x00;
const BPF_JEQ = 0x10;
const BPF_JGT = 0x20;
const BPF_JNE = 0x50;
const BPF_CALL = 0x80;
const BPF_EXIT = 0x90;
/** src_reg of a 64-bit immediate load whose immediate is a map's file descriptor. */
const BPF_PSEUDO_MAP_FD = 1;

/** struct bpf_insn: u8 code, u8 dst_reg:4 src_reg:4, s16 off, s32 imm. */
export const INSTRUCTION_SIZE = 8;

/** Registers: r0 result, r1-r5 arguments, r6-r9 kept across calls, r10 the frame pointer. */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const FRAME_POINTER: Register = 10;

/** Sizes of a load or store. */
export type Size = "u16" | "u32";
const SIZE_CODES: Record<Size, number> = { u16: BPF_H, u32: BPF_W };

interface Encoded {
  readonly code: number;
  readonly dst: Register;
  readonly src: number;
  /** A number, or the label a jump goes to (resolved by `assemble`). */
  readonly off: number | string;
  readonly imm: number;
}

/** One step of a listing: an instruction, two for a 64-bit immediate, or a label. */
export type Step = Encoded | readonly [Encoded, Encoded] | { readonly label: string };

const op = (code: number, dst: Register, src: number, off: number | string, imm: number): Encoded => ({ code, dst, src, off, imm });

export const movImmediate = (dst: Register, imm: number): Step => op(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
export const movRegister = (dst: Register, src: Register): Step => op(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
export const addImmediate = (dst: Register, imm: number): Step => op(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm);
/** dst = *(size *)(src + off) */
export const load = (size: Size, dst: Register, src: Register, off: number): Step => op(BPF_LDX | BPF_MEM | SIZE_CODES[size], dst, src, off, 0);
/** *(size *)(dst + off) = src */
export const store = (size: Size, dst: Register, off: number, src: Register): Step => op(BPF_STX | BPF_MEM | SIZE_CODES[size], dst, src, off, 0);
export const jump = (label: string): Step => op(BPF_JMP | BPF_JA, 0, 0, label, 0);
export const jumpIfEqual = (dst: Register, imm: number, label: string): Step => op(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, label, imm);
export const jumpIfNotEqual = (dst: Register, imm: number, label: string): Step => op(BPF_JMP | BPF_JNE | BPF_K, dst, 0, label, imm);
/** if dst > src (unsigned) goto label */
export const jumpIfAbove = (dst: Register, src: Register, label: string): Step => op(BPF_JMP | BPF_JGT | BPF_X, dst, src, label, 0);
export const call = (helper: number): Step => op(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
export const exit = (): Step => op(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
/** dst = the map of file descriptor `fd` (the kernel replaces the descriptor with the map's address). */
export const loadMap = (dst: Register, fd: number): Step => [op(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd), op(0, 0, 0, 0, 0)];
export const label = (name: string): Step => ({ label: name });

/** The listing as struct bpf_insn[], little-endian (x86-64, arm64), every jump resolved to its label. */
export function assemble(listing: readonly Step[]): Uint8Array {
  const instructions: Encoded[] = [];
  const labels = new Map<string, number>();
  for (const step of listing) {
    if ("label" in step) {
      if (labels.has(step.label)) throw new Error(`label ${step.label} is defined twice`);
      labels.set(step.label, instructions.length);
    } else if (Array.isArray(step)) instructions.push(...(step as readonly Encoded[]));
    else instructions.push(step as Encoded);
  }
  const bytes = new Uint8Array(instructions.length * INSTRUCTION_SIZE);
  const view = new DataView(bytes.buffer);
  instructions.forEach((instruction, index) => {
    let off = instruction.off;
    if (typeof off === "string") {
      const target = labels.get(off);
      if (target === undefined) throw new Error(`no label ${off}`);
      // A jump counts from the instruction after it.
      off = target - index - 1;
    }
    const at = index * INSTRUCTION_SIZE;
    view.setUint8(at, instruction.code);
    view.setUint8(at + 1, instruction.dst | (instruction.src << 4));
    view.setInt16(at + 2, off, true);
    view.setInt32(at + 4, instruction.imm, true);
  });
  return bytes;
}
