import { describe, expect, test } from "bun:test";
import { genericAdvice, SyscallError } from "../../ffi/errors.ts";
import { errnoName } from "../../src/errno.ts";

describe("errno names", () => {
  test("the errors the packet path meets have their Linux names", () => {
    expect([1, 4, 6, 11, 13, 19, 22, 90, 92, 98, 100, 105].map(errnoName)).toEqual([
      "EPERM",
      "EINTR",
      "ENXIO",
      "EAGAIN",
      "EACCES",
      "ENODEV",
      "EINVAL",
      "EMSGSIZE",
      "ENOPROTOOPT",
      "EADDRINUSE",
      "ENETDOWN",
      "ENOBUFS",
    ]);
  });

  test("an unknown number is shown as a number", () => {
    expect(errnoName(4242)).toBe("errno 4242");
  });
});

describe("SyscallError", () => {
  test("names the call, the errno and the call site's advice", () => {
    const error = new SyscallError("socket(AF_PACKET, SOCK_RAW)", 1, "bng needs root or CAP_NET_RAW");
    expect(error.message).toBe("socket(AF_PACKET, SOCK_RAW) failed: EPERM — bng needs root or CAP_NET_RAW");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("SyscallError");
    expect(error.code).toBe("EPERM");
    expect(error.errno).toBe(1);
    expect(error.call).toBe("socket(AF_PACKET, SOCK_RAW)");
  });

  test("falls back to generic advice when the call site has none", () => {
    const error = new SyscallError("sendto(AF_PACKET, eth0)", 100, undefined);
    expect(error.message).toBe(`sendto(AF_PACKET, eth0) failed: ENETDOWN — ${genericAdvice(100)}`);
    expect(error.message).toContain("ip link set");
    expect(new SyscallError("x", 4242).message).toBe("x failed: errno 4242 — unexpected error from the kernel");
  });
});
