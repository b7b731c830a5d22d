// The paced traffic generator of the packet-rate benchmark: offers TCP SYNs at a chosen, steady
// rate, so a forwarder's share can be measured below saturation (trafgen's TX_RING path offers
// only its maximum, and its --rate path sends one frame per syscall and tops out too low).
//
//   paced-gen IFNAME DST_MAC SRC_MAC DST_IP DST_PORT CLIENT_BITS RATE_PPS
//
// Frames are the 60 bytes bench/packet-rate.ts trafgenConfig() describes: Ethernet, IPv4 (length
// 40, random id, DF, TTL 64, valid checksum) from 198.18.0.0 with the low CLIENT_BITS bits random,
// TCP SYN (random source port and seq, window 64240, valid checksum), 6 zero bytes of padding.
// A pool of them is built up front from a fixed-seed xorshift, so the send loop only sends:
// sendmmsg batches over an AF_PACKET socket bound to IFNAME with PACKET_QDISC_BYPASS (on a veth
// pair this reached ~1 M frames/s on one core, a PACKET_TX_RING variant ~0.88 M), paced by
// busy-waiting on CLOCK_MONOTONIC. Frames the kernel refuses (ENOBUFS/EAGAIN) count as pushback
// and are not retried.
//
// Prints `ready` when it starts sending; at SIGTERM/SIGINT prints {"sent":N,"pushback":N,"seconds":S}.
// Built with `cc -O2 -Wall -o bench/baseline/paced-gen bench/baseline/paced-gen.c`.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// For its stop flag and parse_mac; the forwarders' argument parser and totals stay unused here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "forwarder.h"
#pragma GCC diagnostic pop

#define FRAME_LENGTH 60
#define FRAME_STRIDE 64
#define POOL_FRAMES 65536
// Frames per sendmmsg at most; also the most the schedule may owe, so a stall (preemption, an
// interrupt) costs frames instead of a catch-up burst at full speed.
#define BATCH 64
#define MAX_RATE 100000000ull

static uint8_t pool[POOL_FRAMES][FRAME_STRIDE] __attribute__((aligned(64)));
static struct iovec pool_iov[POOL_FRAMES];
// One message per pool frame, so a batch is a slice of this array and needs no setup. BATCH more
// at the end repeat the first ones, so a batch never wraps.
static struct mmsghdr pool_msgs[POOL_FRAMES + BATCH];

static void die(const char *what) {
  fprintf(stderr, "paced-gen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint64_t random_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
  random_state ^= random_state << 13;
  random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return random_state;
}

/** Folds a one's-complement sum to 16 bits and complements it. */
static uint16_t finish_checksum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint32_t sum_words(const uint8_t *bytes, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
  return sum;
}

static void put16(uint8_t *at, uint16_t value) { at[0] = (uint8_t)(value >> 8); at[1] = (uint8_t)value; }

static void build_frame(uint8_t *frame, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src_ip,
                        struct in_addr dst_ip, uint16_t dst_port) {
  memset(frame, 0, FRAME_STRIDE);
  memcpy(frame, dst_mac, 6);
  memcpy(frame + 6, src_mac, 6);
  put16(frame + 12, ETHERTYPE_IP);
  uint8_t *ip = frame + 14;
  ip[0] = 0x45;
  put16(ip + 2, 40);
  put16(ip + 4, (uint16_t)next_random());
  put16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  uint32_t src = htonl(src_ip);
  memcpy(ip + 12, &src, 4);
  memcpy(ip + 16, &dst_ip, 4);
  put16(ip + 10, finish_checksum(sum_words(ip, 20, 0)));
  uint8_t *tcp = ip + 20;
  put16(tcp, (uint16_t)next_random());
  put16(tcp + 2, dst_port);
  uint32_t seq = (uint32_t)next_random();
  memcpy(tcp + 4, &seq, 4);
  tcp[12] = 0x50;
  tcp[13] = 0x02;
  put16(tcp + 14, 64240);
  // Pseudo-header: both addresses, protocol, TCP length.
  uint32_t sum = sum_words(ip + 12, 8, IPPROTO_TCP + 20);
  put16(tcp + 16, finish_checksum(sum_words(tcp, 20, sum)));
}

/** Reads a whole decimal number in [min, max] into `value`: 0, or -1 if `text` is not one. */
static int parse_number(const char *text, unsigned long long min, unsigned long long max, unsigned long long *value) {
  char *end;
  errno = 0;
  if (text[0] < '0' || text[0] > '9') return -1;
  *value = strtoull(text, &end, 10);
  return errno != 0 || *end != '\0' || *value < min || *value > max ? -1 : 0;
}

static uint64_t now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: paced-gen IFNAME DST_MAC SRC_MAC DST_IP DST_PORT CLIENT_BITS RATE_PPS\n");
    return 2;
  }
  uint8_t dst_mac[6], src_mac[6];
  struct in_addr dst_ip;
  unsigned long long dst_port, client_bits, rate;
  if (parse_mac(argv[2], dst_mac) != 0) { fprintf(stderr, "paced-gen: bad DST_MAC %s\n", argv[2]); return 2; }
  if (parse_mac(argv[3], src_mac) != 0) { fprintf(stderr, "paced-gen: bad SRC_MAC %s\n", argv[3]); return 2; }
  if (inet_pton(AF_INET, argv[4], &dst_ip) != 1) { fprintf(stderr, "paced-gen: bad DST_IP %s\n", argv[4]); return 2; }
  if (parse_number(argv[5], 1, 65535, &dst_port) != 0) { fprintf(stderr, "paced-gen: bad DST_PORT %s (1-65535)\n", argv[5]); return 2; }
  if (parse_number(argv[6], 0, 16, &client_bits) != 0) { fprintf(stderr, "paced-gen: bad CLIENT_BITS %s (0-16)\n", argv[6]); return 2; }
  if (parse_number(argv[7], 1, MAX_RATE, &rate) != 0) {
    fprintf(stderr, "paced-gen: bad RATE_PPS %s (1-%llu)\n", argv[7], MAX_RATE);
    return 2;
  }
  unsigned int ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) { fprintf(stderr, "paced-gen: no interface %s\n", argv[1]); return 2; }

  const uint32_t client_mask = (1u << client_bits) - 1;
  for (int i = 0; i < POOL_FRAMES; i++) {
    build_frame(pool[i], dst_mac, src_mac, 0xc6120000u | ((uint32_t)next_random() & client_mask), dst_ip, (uint16_t)dst_port);
    pool_iov[i] = (struct iovec){.iov_base = pool[i], .iov_len = FRAME_LENGTH};
  }
  for (int i = 0; i < POOL_FRAMES + BATCH; i++) pool_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &pool_iov[i % POOL_FRAMES], .msg_iovlen = 1};

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1, sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) die("PACKET_QDISC_BYPASS");
  // Room for frames a NIC has not yet completed; past it the kernel pushes back.
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0) die("SO_SNDBUF");
  // Protocol 0: bound for sending only, so the socket is not handed every frame on the interface.
  struct sockaddr_ll address = {.sll_family = AF_PACKET, .sll_protocol = 0, .sll_ifindex = (int)ifindex};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) die("bind");

  stop_on_signals();
  printf("ready\n");
  fflush(stdout);

  uint64_t sent = 0, pushback = 0, forgiven = 0, cursor = 0;
  const uint64_t start = now_ns();
  uint64_t now = start;
  while (!stopping) {
    now = now_ns();
    // Frames due by now that were neither sent, refused nor forgiven.
    uint64_t due = (uint64_t)((unsigned __int128)(now - start) * rate / 1000000000u);
    uint64_t owed = due - forgiven - sent - pushback;
    if (owed == 0) continue;
    if (owed > BATCH) { forgiven += owed - BATCH; owed = BATCH; }
    int accepted = sendmmsg(fd, pool_msgs + cursor, (unsigned int)owed, MSG_DONTWAIT);
    if (accepted > 0) {
      sent += (uint64_t)accepted;
      cursor = (cursor + (uint64_t)accepted) % POOL_FRAMES;
    } else if (errno == ENOBUFS || errno == EAGAIN) {
      pushback += owed;
      cursor = (cursor + owed) % POOL_FRAMES;
    } else if (errno != EINTR) {
      die("sendmmsg");
    }
  }
  printf("{\"sent\":%llu,\"pushback\":%llu,\"seconds\":%.3f}\n", (unsigned long long)sent, (unsigned long long)pushback,
         (double)(now - start) / 1e9);
  close(fd);
  return 0;
}
