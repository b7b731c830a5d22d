// The native baseline for the packet-rate benchmark: the smallest forwarder of bng's design.
// One AF_PACKET socket bound to IFNAME (ETH_P_ALL, PACKET_IGNORE_OUTGOING, PACKET_AUXDATA,
// PACKET_QDISC_BYPASS, 4 MiB receive buffer, 100 ms receive timeout, as bng's ffi/packet-io/mmsg.ts),
// recvmmsg of up to 64 frames (MSG_WAITFORONE), then every IPv4 frame to VIP whose packet type
// is PACKET_HOST is copied to a tx slot with destination MAC = TARGET_MAC and source MAC = the
// interface's own MAC, and the batch goes back out with one sendmmsg. No sessions, no target
// selection, no checksum work: the floor under what any AF_PACKET+mmsg balancer can do.
//
//   fwd IFNAME VIP TARGET_MAC
//
// Runs until SIGTERM/SIGINT, then prints {"received":N,"forwarded":N,"sendDropped":N}.
// Built by bench/packet-rate.ts with `cc -O2 -Wall -o bench/baseline/fwd bench/baseline/fwd.c`, and as
// bench/baseline/libfwd.so (`-shared -fPIC -Dmain=fwd_main`) for bench/baseline/in-bun.ts.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forwarder.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define BATCH 64
#define SLOT 2048
#define CONTROL_SPACE CMSG_SPACE(sizeof(struct tpacket_auxdata))

static void die(const char *what) {
  fprintf(stderr, "fwd: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint8_t rx_frames[BATCH][SLOT] __attribute__((aligned(64)));
static uint8_t tx_frames[BATCH][SLOT] __attribute__((aligned(64)));
static uint8_t rx_control[BATCH][CONTROL_SPACE] __attribute__((aligned(8)));
static struct sockaddr_ll rx_names[BATCH];
static struct iovec rx_iov[BATCH], tx_iov[BATCH];
static struct mmsghdr rx_msgs[BATCH], tx_msgs[BATCH];

int main(int argc, char **argv) {
  struct forwarder_args args;
  int bad = parse_forwarder_args(argc, argv, "fwd", &args);
  if (bad) return bad;
  uint8_t own_mac[6];

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, args.ifname, IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die("SIOCGIFINDEX");
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");
  memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);

  int one = 1, rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) die("PACKET_IGNORE_OUTGOING");
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) die("PACKET_AUXDATA");
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) die("SO_RCVBUF");
  struct timeval timeout = {.tv_sec = 0, .tv_usec = 100000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0) die("SO_RCVTIMEO");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0) die("SO_SNDTIMEO");
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) die("PACKET_QDISC_BYPASS");
  struct sockaddr_ll address = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) die("bind");

  for (int i = 0; i < BATCH; i++) {
    rx_iov[i] = (struct iovec){.iov_base = rx_frames[i], .iov_len = SLOT};
    tx_iov[i] = (struct iovec){.iov_base = tx_frames[i], .iov_len = 0};
    rx_msgs[i].msg_hdr = (struct msghdr){.msg_name = &rx_names[i], .msg_namelen = sizeof rx_names[i],
                                         .msg_iov = &rx_iov[i], .msg_iovlen = 1,
                                         .msg_control = rx_control[i], .msg_controllen = CONTROL_SPACE};
    tx_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &tx_iov[i], .msg_iovlen = 1};
  }

  stop_on_signals();
  fprintf(stderr, "fwd: ready on %s (ifindex %d)\n", args.ifname, ifindex);

  uint64_t received = 0, forwarded = 0, send_dropped = 0;
  while (!stopping) {
    int n = recvmmsg(fd, rx_msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENETDOWN) die("recvmmsg");
      continue;
    }
    received += (uint64_t)n;
    int out = 0;
    for (int i = 0; i < n; i++) {
      const uint8_t *frame = rx_frames[i];
      unsigned int length = rx_msgs[i].msg_len;
      rx_msgs[i].msg_hdr.msg_namelen = sizeof rx_names[i];
      rx_msgs[i].msg_hdr.msg_controllen = CONTROL_SPACE;
      if (rx_names[i].sll_pkttype != PACKET_HOST || length < 34 || length > SLOT) continue;
      if (frame[12] != 0x08 || frame[13] != 0x00) continue;
      if (memcmp(frame + 14 + 16, &args.vip, 4) != 0) continue;
      uint8_t *copy = tx_frames[out];
      memcpy(copy, frame, length);
      memcpy(copy, args.target_mac, 6);
      memcpy(copy + 6, own_mac, 6);
      tx_iov[out].iov_len = length;
      out++;
    }
    int next = 0;
    while (next < out) {
      int sent = sendmmsg(fd, tx_msgs + next, (unsigned int)(out - next), 0);
      if (sent > 0) { next += sent; forwarded += (uint64_t)sent; continue; }
      if (errno == EINTR && !stopping) continue;
      if (errno == EAGAIN || errno == ENOBUFS || errno == ENETDOWN || errno == EINTR) { send_dropped += (uint64_t)(out - next); break; }
      send_dropped++;
      next++;
    }
  }
  print_totals(received, forwarded, send_dropped);
  close(fd);
  return 0;
}
