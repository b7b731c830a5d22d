// The http check's request bytes and what it reads of a response.
import { describe, expect, test } from "bun:test";
import { headersComplete, readHttpStatus, writeHttpRequest } from "../../src/health/http-message.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const TARGET = 0x0ad6000b; // 10.214.0.11

describe("writeHttpRequest", () => {
  test("GET PATH with the target as Host (its port unless 80), closing the connection", () => {
    const buffer = new Uint8Array(4096);
    const length = writeHttpRequest(buffer, "/health?full=1", TARGET, 8080);
    expect(new TextDecoder().decode(buffer.subarray(0, length))).toBe(
      "GET /health?full=1 HTTP/1.1\r\nHost: 10.214.0.11:8080\r\nUser-Agent: bng-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    );
    const on80 = writeHttpRequest(buffer, "/", TARGET, 80);
    expect(new TextDecoder().decode(buffer.subarray(0, on80))).toContain("\r\nHost: 10.214.0.11\r\n");
  });

  test("a request that does not fit the buffer: 0", () => {
    expect(writeHttpRequest(new Uint8Array(64), `/${"x".repeat(100)}`, TARGET, 80)).toBe(0);
  });
});

describe("readHttpStatus", () => {
  const status = (text: string) => readHttpStatus(bytes(text), bytes(text).length);
  test("the code of an HTTP/1.0 or 1.1 status line, with or without a reason", () => {
    expect(status("HTTP/1.1 200 OK\r\n")).toBe(200);
    expect(status("HTTP/1.0 503 Service Unavailable\r\n")).toBe(503);
    expect(status("HTTP/1.1 204\r\n\r\n")).toBe(204);
    expect(status("HTTP/1.1 302\n")).toBe(302);
  });
  test("anything else is not a status line", () => {
    for (const text of ["", "HTTP/1.1 200", "HTTP/2 200 OK\r\n", "http/1.1 200 OK\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 600 Nope\r\n", "HTTP/1.1 099 x\r\n", "SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.x 200 OK\r\n"]) {
      expect(status(text)).toBeUndefined();
    }
  });
  test("only the given length counts", () => {
    const buffer = bytes("HTTP/1.1 200 OK\r\n");
    expect(readHttpStatus(buffer, 12)).toBeUndefined();
  });
});

describe("headersComplete", () => {
  test("an empty line ends the headers: CRLF CRLF, or LF LF", () => {
    const response = bytes("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody");
    expect(headersComplete(response, 0, response.length)).toBe(true);
    expect(headersComplete(response, 0, response.indexOf(0x62) - 1)).toBe(false);
    const lenient = bytes("HTTP/1.1 200 OK\nServer: x\n\n");
    expect(headersComplete(lenient, 0, lenient.length)).toBe(true);
    expect(headersComplete(bytes("HTTP/1.1 200 OK\r\nServer: x\r\n"), 0, 29)).toBe(false);
  });
  test("an empty line split across two reads is found from the second read's start", () => {
    const response = bytes("HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
    const firstRead = response.length - 2;
    expect(headersComplete(response, 0, firstRead)).toBe(false);
    expect(headersComplete(response, firstRead, response.length)).toBe(true);
  });
});
