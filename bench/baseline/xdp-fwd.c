// The native AF_XDP baseline for the packet-rate benchmark: the smallest forwarder of the design of
// bng's `set io xdp` (ffi/packet-io/xdp.ts), written with libxdp. One AF_XDP socket on queue 0 of
// IFNAME, its XDP program libxdp's default one (every frame of the queue to the socket), native
// mode, need-wakeup; a UMEM of 2 KiB chunks with fill and rx rings of 2048 and tx and completion
// rings of 512 entries, as bng's. Up to 64 frames are taken from the rx ring; every IPv4 frame to
// VIP whose destination MAC is the interface's gets destination MAC = TARGET_MAC and source MAC =
// the interface's, rewritten where it lies, and goes onto the tx ring from its own chunk (no
// copy); the rest go straight back to the fill ring. One sendto kicks the tx ring (again while the
// kernel says EAGAIN: copy mode sends 32 per call), completions go back to the fill ring. No
// sessions, no choice of target, no checksum work, no ARP: the floor under any AF_XDP forwarder.
//
//   xdp-fwd IFNAME VIP TARGET_MAC
//
// Runs until SIGTERM/SIGINT, then prints {"received":N,"forwarded":N,"sendDropped":N}.
// Built by bench/packet-rate.ts with `cc -O2 -Wall -o bench/baseline/xdp-fwd bench/baseline/xdp-fwd.c -lxdp -lbpf`.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include "forwarder.h"

#define BATCH 64
#define CHUNK 2048
#define FILL_SIZE 2048
#define TX_SIZE 512
#define CHUNKS (FILL_SIZE + 2 * TX_SIZE + 2 * BATCH)
#define HEADROOM 256

static void die(const char *what, int error) {
  fprintf(stderr, "xdp-fwd: %s: %s\n", what, strerror(error));
  exit(1);
}

static uint64_t free_chunks[CHUNKS];
static unsigned int free_count = 0;

int main(int argc, char **argv) {
  struct forwarder_args args;
  int bad = parse_forwarder_args(argc, argv, "xdp-fwd", &args);
  if (bad) return bad;
  uint8_t own_mac[6];
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, args.ifname, IFNAMSIZ - 1);
  if (ioctl(probe, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR", errno);
  memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);
  close(probe);

  void *buffer = mmap(NULL, (size_t)CHUNKS * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (buffer == MAP_FAILED) die("mmap", errno);
  struct xsk_ring_prod fill, tx;
  struct xsk_ring_cons completion, rx;
  struct xsk_umem *umem;
  struct xsk_umem_config umem_config = {.fill_size = FILL_SIZE, .comp_size = TX_SIZE, .frame_size = CHUNK, .frame_headroom = 0, .flags = 0};
  int error = xsk_umem__create(&umem, buffer, (uint64_t)CHUNKS * CHUNK, &fill, &completion, &umem_config);
  if (error) die("xsk_umem__create", -error);
  struct xsk_socket *xsk;
  struct xsk_socket_config config = {
      .rx_size = FILL_SIZE, .tx_size = TX_SIZE, .libxdp_flags = 0, .xdp_flags = XDP_FLAGS_DRV_MODE, .bind_flags = XDP_USE_NEED_WAKEUP};
  error = xsk_socket__create(&xsk, args.ifname, 0, umem, &rx, &tx, &config);
  if (error) die("xsk_socket__create", -error);
  int fd = xsk_socket__fd(xsk);

  for (unsigned int chunk = 0; chunk < CHUNKS; chunk++) free_chunks[free_count++] = (uint64_t)chunk * CHUNK;
  uint32_t at;
  unsigned int initial = xsk_ring_prod__reserve(&fill, FILL_SIZE, &at);
  for (unsigned int i = 0; i < initial; i++) *xsk_ring_prod__fill_addr(&fill, at + i) = free_chunks[--free_count];
  xsk_ring_prod__submit(&fill, initial);

  stop_on_signals();
  fprintf(stderr, "xdp-fwd: ready on %s queue 0\n", args.ifname);

  struct pollfd poller = {.fd = fd, .events = POLLIN};
  uint64_t received = 0, forwarded = 0, send_dropped = 0;
  while (!stopping) {
    // Sent chunks back to the free stack, then as many free chunks as fit into the fill ring.
    uint32_t done_at;
    unsigned int done = xsk_ring_cons__peek(&completion, TX_SIZE, &done_at);
    for (unsigned int i = 0; i < done; i++) free_chunks[free_count++] = *xsk_ring_cons__comp_addr(&completion, done_at + i) & ~(uint64_t)(CHUNK - 1);
    if (done) xsk_ring_cons__release(&completion, done);
    unsigned int room = xsk_prod_nb_free(&fill, free_count);
    if (room > free_count) room = free_count;
    if (room && xsk_ring_prod__reserve(&fill, room, &at) == room) {
      for (unsigned int i = 0; i < room; i++) *xsk_ring_prod__fill_addr(&fill, at + i) = free_chunks[--free_count];
      xsk_ring_prod__submit(&fill, room);
    }

    uint32_t rx_at;
    unsigned int n = xsk_ring_cons__peek(&rx, BATCH, &rx_at);
    if (n == 0) {
      if (poll(&poller, 1, 100) < 0 && errno != EINTR) die("poll", errno);
      continue;
    }
    received += n;
    uint32_t tx_at;
    unsigned int out_room = xsk_ring_prod__reserve(&tx, n, &tx_at);
    unsigned int out = 0;
    for (unsigned int i = 0; i < n; i++) {
      const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&rx, rx_at + i);
      uint8_t *frame = xsk_umem__get_data(buffer, desc->addr);
      int ours = desc->len >= 34 && memcmp(frame, own_mac, 6) == 0 && frame[12] == 0x08 && frame[13] == 0x00 && memcmp(frame + 14 + 16, &args.vip, 4) == 0;
      if (!ours || out >= out_room) {
        if (ours) send_dropped++;
        free_chunks[free_count++] = desc->addr & ~(uint64_t)(CHUNK - 1);
        continue;
      }
      memcpy(frame, args.target_mac, 6);
      memcpy(frame + 6, own_mac, 6);
      struct xdp_desc *sent = xsk_ring_prod__tx_desc(&tx, tx_at + out);
      sent->addr = desc->addr;
      sent->len = desc->len;
      sent->options = 0;
      out++;
    }
    xsk_ring_cons__release(&rx, n);
    // Give back the part of the reservation no frame took (libxdp's cached producer index).
    tx.cached_prod -= out_room - out;
    if (out == 0) continue;
    xsk_ring_prod__submit(&tx, out);
    forwarded += out;
    for (int kicks = 0; kicks < 8; kicks++) {
      if (!xsk_ring_prod__needs_wakeup(&tx) || __atomic_load_n(tx.consumer, __ATOMIC_ACQUIRE) == *tx.producer) break;
      if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != EBUSY && errno != ENOBUFS) break;
    }
  }
  print_totals(received, forwarded, send_dropped);
  xsk_socket__delete(xsk);
  xsk_umem__delete(umem);
  return 0;
}
