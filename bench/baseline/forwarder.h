// What the native baseline forwarders (fwd.c, xdp-fwd.c) share: their command line
//
//   NAME IFNAME VIP TARGET_MAC
//
// the stop flag their SIGTERM/SIGINT handler sets, and the totals they print when they stop.
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct forwarder_args {
  const char *ifname;
  struct in_addr vip;
  uint8_t target_mac[6];
};

static volatile sig_atomic_t stopping = 0;
static void on_signal(int signal) { (void)signal; stopping = 1; }

/** Stops the loop at SIGTERM or SIGINT (the handler replaces any other, Bun's too). */
static void stop_on_signals(void) {
  struct sigaction action = {.sa_handler = on_signal};
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
}

static int parse_mac(const char *text, uint8_t mac[6]) {
  unsigned int b[6];
  if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)b[i];
  return 0;
}

/** Fills `args` from the command line: 0, or 2 (the exit status) after saying what is wrong. */
static int parse_forwarder_args(int argc, char **argv, const char *name, struct forwarder_args *args) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFNAME VIP TARGET_MAC\n", name);
    return 2;
  }
  args->ifname = argv[1];
  if (inet_pton(AF_INET, argv[2], &args->vip) != 1) { fprintf(stderr, "%s: bad VIP %s\n", name, argv[2]); return 2; }
  if (parse_mac(argv[3], args->target_mac) != 0) { fprintf(stderr, "%s: bad MAC %s\n", name, argv[3]); return 2; }
  return 0;
}

static void print_totals(uint64_t received, uint64_t forwarded, uint64_t send_dropped) {
  printf("{\"received\":%llu,\"forwarded\":%llu,\"sendDropped\":%llu}\n", (unsigned long long)received, (unsigned long long)forwarded,
         (unsigned long long)send_dropped);
}
