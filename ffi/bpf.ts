// bpf(2) through libc's syscall(): the maps, the program and the link of bng's XDP engine. Every
// call fills a zeroed union bpf_attr (the kernel refuses unknown bytes that are not zero) and
// throws a SyscallError that says what to do; none of this is on the packet path.
import { EEXIST, EINVAL, ENOENT, EOPNOTSUPP, EPERM, EBUSY, SyscallError } from "./errors.ts";
import {
  BPF_INFO_ATTR,
  BPF_LINK_CREATE,
  BPF_LINK_CREATE_ATTR,
  BPF_LINK_DETACH,
  BPF_LINK_GET_FD_BY_ID,
  BPF_LINK_INFO,
  BPF_MAP_CREATE,
  BPF_MAP_CREATE_ATTR,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_ELEM_ATTR,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET_INFO_BY_FD,
  BPF_OBJ_NAME_LEN,
  BPF_PROG_GET_FD_BY_ID,
  BPF_PROG_INFO,
  BPF_PROG_LOAD,
  BPF_PROG_LOAD_ATTR,
  BPF_XDP,
  XDP_FLAGS_DRV_MODE,
} from "./layout.ts";
import { cString, lastErrno, libc } from "./libc.ts";
import { native } from "./native.ts";

/** The bpf system call's number (asm/unistd.h). */
const SYS_BPF = process.arch === "arm64" ? 280 : 321;
/** Large enough for every union bpf_attr member bng fills; the rest stays zero. */
const ATTR_SIZE = 128;
/** The verifier's log of a refused program (what it says is the error's advice). */
const VERIFIER_LOG_BYTES = 64 * 1024;

const PRIVILEGE = "bng needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW, for `set io xdp`";

function attr(): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(ATTR_SIZE);
  return { bytes, view: new DataView(bytes.buffer) };
}

function setAddress(view: DataView, offset: number, target: ArrayBufferView): void {
  view.setBigUint64(offset, BigInt(native.addressOf(target)), true);
}

/** The call's result, or a SyscallError for `what` with `advice` (or the generic one). */
function bpf(command: number, bytes: Uint8Array, what: string, advice?: (errno: number) => string | undefined): number {
  const result = libc.syscall(SYS_BPF, command, bytes, ATTR_SIZE);
  if (result >= 0) return result;
  const errno = lastErrno();
  throw new SyscallError(what, errno, advice?.(errno) ?? (errno === EPERM ? PRIVILEGE : undefined));
}

function setName(bytes: Uint8Array, offset: number, name: string): void {
  if (!/^[A-Za-z0-9_.]{1,15}$/.test(name)) throw new RangeError(`BPF object name ${JSON.stringify(name)}: 1 to ${BPF_OBJ_NAME_LEN - 1} of A-Z a-z 0-9 _ .`);
  bytes.set(new TextEncoder().encode(name), offset);
}

/** A new map's file descriptor. */
export function createMap(type: number, keySize: number, valueSize: number, maxEntries: number, name: string): number {
  const { bytes, view } = attr();
  view.setUint32(BPF_MAP_CREATE_ATTR.mapType, type, true);
  view.setUint32(BPF_MAP_CREATE_ATTR.keySize, keySize, true);
  view.setUint32(BPF_MAP_CREATE_ATTR.valueSize, valueSize, true);
  view.setUint32(BPF_MAP_CREATE_ATTR.maxEntries, maxEntries, true);
  setName(bytes, BPF_MAP_CREATE_ATTR.mapName, name);
  return bpf(BPF_MAP_CREATE, bytes, `bpf(BPF_MAP_CREATE, ${name})`, (errno) =>
    errno === EINVAL ? "this kernel lacks the map type (AF_XDP socket maps need Linux 4.18+)" : undefined,
  );
}

/** Sets `key` to `value` in map `fd` (creating it). */
export function updateMapElement(fd: number, key: ArrayBufferView, value: ArrayBufferView, what: string): void {
  const { bytes, view } = attr();
  view.setUint32(BPF_MAP_ELEM_ATTR.mapFd, fd, true);
  setAddress(view, BPF_MAP_ELEM_ATTR.key, key);
  setAddress(view, BPF_MAP_ELEM_ATTR.value, value);
  bpf(BPF_MAP_UPDATE_ELEM, bytes, `bpf(BPF_MAP_UPDATE_ELEM, ${what})`);
}

/** Removes `key` from map `fd`; false when it was not there. */
export function deleteMapElement(fd: number, key: ArrayBufferView, what: string): boolean {
  const { bytes, view } = attr();
  view.setUint32(BPF_MAP_ELEM_ATTR.mapFd, fd, true);
  setAddress(view, BPF_MAP_ELEM_ATTR.key, key);
  const result = libc.syscall(SYS_BPF, BPF_MAP_DELETE_ELEM, bytes, ATTR_SIZE);
  if (result >= 0) return true;
  const errno = lastErrno();
  if (errno === ENOENT) return false;
  throw new SyscallError(`bpf(BPF_MAP_DELETE_ELEM, ${what})`, errno);
}

/**
 * Loads `instructions` (struct bpf_insn[]) as a program of `type` named `name`; its file
 * descriptor. A program the verifier refuses throws with the verifier's last words as advice.
 */
export function loadProgram(type: number, instructions: Uint8Array, name: string, expectedAttachType: number): number {
  const license = cString("MIT");
  const log = new Uint8Array(VERIFIER_LOG_BYTES);
  const load = (withLog: boolean): number => {
    const { bytes, view } = attr();
    view.setUint32(BPF_PROG_LOAD_ATTR.progType, type, true);
    view.setUint32(BPF_PROG_LOAD_ATTR.insnCnt, instructions.length / 8, true);
    setAddress(view, BPF_PROG_LOAD_ATTR.insns, instructions);
    setAddress(view, BPF_PROG_LOAD_ATTR.license, license);
    setName(bytes, BPF_PROG_LOAD_ATTR.progName, name);
    view.setUint32(BPF_PROG_LOAD_ATTR.expectedAttachType, expectedAttachType, true);
    if (withLog) {
      view.setUint32(BPF_PROG_LOAD_ATTR.logLevel, 1, true);
      view.setUint32(BPF_PROG_LOAD_ATTR.logSize, log.length, true);
      setAddress(view, BPF_PROG_LOAD_ATTR.logBuf, log);
    }
    return libc.syscall(SYS_BPF, BPF_PROG_LOAD, bytes, ATTR_SIZE);
  };
  const fd = load(false);
  if (fd >= 0) return fd;
  const errno = lastErrno();
  if (errno === EPERM) throw new SyscallError(`bpf(BPF_PROG_LOAD, ${name})`, errno, PRIVILEGE);
  // Again with the verifier's log, for the reason.
  const retried = load(true);
  if (retried >= 0) return retried;
  const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0) < 0 ? log.length : log.indexOf(0))).trim();
  const lastWords = text.split("\n").slice(-4).join(" | ");
  throw new SyscallError(`bpf(BPF_PROG_LOAD, ${name})`, lastErrno(), lastWords ? `the verifier refused it: ${lastWords}` : undefined);
}

/**
 * Attaches XDP program `programFd` to interface `ifindex` in the driver (native XDP) through a
 * link: the kernel detaches it when the link's last file descriptor closes, on every exit of bng,
 * a crash or SIGKILL included. Returns the link's file descriptor.
 */
export function attachXdpLink(programFd: number, ifindex: number, ifname: string): number {
  const { bytes, view } = attr();
  view.setUint32(BPF_LINK_CREATE_ATTR.progFd, programFd, true);
  view.setUint32(BPF_LINK_CREATE_ATTR.targetIfindex, ifindex, true);
  view.setUint32(BPF_LINK_CREATE_ATTR.attachType, BPF_XDP, true);
  view.setUint32(BPF_LINK_CREATE_ATTR.flags, XDP_FLAGS_DRV_MODE, true);
  return bpf(BPF_LINK_CREATE, bytes, `bpf(BPF_LINK_CREATE, XDP on ${ifname})`, (errno) => {
    if (errno === EOPNOTSUPP || errno === EINVAL) return `the driver of ${ifname} has no native XDP (or not at this MTU); use \`set io ring\` or \`set io auto\``;
    if (errno === EBUSY || errno === EEXIST) return `${ifname} already has an XDP program (see \`ip link show ${ifname}\`); bng does not replace another's`;
    return undefined;
  });
}

/** Detaches the program of link `fd` (the link stays, empty, until its last descriptor closes). */
export function detachLink(fd: number, what: string): void {
  const { bytes, view } = attr();
  view.setUint32(0, fd, true);
  bpf(BPF_LINK_DETACH, bytes, `bpf(BPF_LINK_DETACH, ${what})`);
}

function objectInfo(fd: number, size: number, what: string): DataView {
  const info = new Uint8Array(size);
  const { bytes, view } = attr();
  view.setUint32(BPF_INFO_ATTR.bpfFd, fd, true);
  view.setUint32(BPF_INFO_ATTR.infoLen, size, true);
  setAddress(view, BPF_INFO_ATTR.info, info);
  bpf(BPF_OBJ_GET_INFO_BY_FD, bytes, `bpf(BPF_OBJ_GET_INFO_BY_FD, ${what})`);
  return new DataView(info.buffer);
}

/** A file descriptor of the object with `id` got by `command`, or undefined when there is none. */
function descriptorById(command: number, id: number, what: string): number | undefined {
  const { bytes, view } = attr();
  view.setUint32(0, id, true);
  const result = libc.syscall(SYS_BPF, command, bytes, ATTR_SIZE);
  if (result >= 0) return result;
  const errno = lastErrno();
  if (errno === ENOENT) return undefined;
  throw new SyscallError(`bpf(${what} ${id})`, errno);
}

export interface XdpLinkInfo {
  id: number;
  type: number;
  ifindex: number;
  programName: string;
}

/** What link `fd` is: its id, type, interface (for an XDP link) and its program's name ("" once detached). */
export function linkInfo(fd: number): XdpLinkInfo {
  const link = objectInfo(fd, BPF_LINK_INFO.size, "link");
  const programId = link.getUint32(BPF_LINK_INFO.progId, true);
  let programName = "";
  const programFd = programId === 0 ? undefined : descriptorById(BPF_PROG_GET_FD_BY_ID, programId, "BPF_PROG_GET_FD_BY_ID");
  if (programFd !== undefined) {
    try {
      const program = objectInfo(programFd, BPF_PROG_INFO.size, "program");
      const name = new Uint8Array(program.buffer, BPF_PROG_INFO.name, BPF_OBJ_NAME_LEN);
      programName = new TextDecoder().decode(name.subarray(0, name.indexOf(0) < 0 ? name.length : name.indexOf(0)));
    } finally {
      libc.close(programFd);
    }
  }
  return { id: link.getUint32(BPF_LINK_INFO.id, true), type: link.getUint32(BPF_LINK_INFO.type, true), ifindex: link.getUint32(BPF_LINK_INFO.xdpIfindex, true), programName };
}

/** A file descriptor of link `id`, or undefined when no such link exists any more. */
export function linkById(id: number): number | undefined {
  return descriptorById(BPF_LINK_GET_FD_BY_ID, id, "BPF_LINK_GET_FD_BY_ID");
}
