export const USAGE = `usage: bng COMMAND [ARGS] [OPTIONS]

Configuration (no daemon needed):
  bng check [FILE]              validate a configuration; prints a summary, exit 1 on errors
                                or when bng run would refuse it
  bng print [FILE]              print a configuration in canonical BalanceNG form

Diagnosing (before bng run, or beside a running bng):
  bng doctor [FILE] [--json]    for each target of each server: its MAC resolves by ARP, it does
                                not answer ARP for the VIP, a SYN to VIP:port through its MAC gets
                                a SYN-ACK; and the gateway answers ping. The fix under every
                                failure; exit 1 if any. FILE defaults to the running bng's
                                configuration, else /etc/bng.conf

Running:
  bng run [FILE] [--syslog]     run in the foreground, logging to stderr, or to syslog
                                (/dev/log) with --syslog or 'set syslog enable'; SIGHUP reloads
  bng -c FILE start             start in the background (BalanceNG style; --pid-file PATH,
                                default /run/bng/bng.pid; --log-file PATH, default /var/log/bng.log)

Talking to a running bng (over its control socket):
  bng status [--json]           servers, targets, health, sessions, counters, drops, packet i/o losses
  bng show servers|targets|networks [--json]
  bng show sessions [--server N] [--target N] [--client IP] [--limit N] [--json]
  bng show hc|arp [--json]      health checks and their results; the MAC learnt for each target
  bng show vrrp|parameters [--json]
                                this node's VRRP state; every 'set' parameter in force
  bng show config               the running configuration in BalanceNG syntax
  bng explain CLIENT_IP[:PORT] [--server N] [--json]
                                which target the client goes to now and why: its session and
                                its age, or the method's pick (hash, Maglev slot, least
                                sessions; what rr and random depend on), the candidates' health
  bng enable|disable target N   take a target into / out of service (disable drains)
  bng enable|disable server N   answer / stop answering for a server's VIP
  bng reload [FILE]             load the file bng was started with again (or FILE); a bad file
                                changes nothing
  bng clear counters            count traffic and drops from zero again (status, show, SNMP)
  bng metrics                   counters in the Prometheus text format
  bng stop                      stop the running bng
  bng control                   the interactive console (bng# prompt, history, TAB completion);
                                reads commands from standard input when it is not a terminal
  bng -g OID | -n OID           SNMP: Net-SNMP's pass protocol (GET, GETNEXT) for
                                'pass .1.3.6.1.4.1.2771 /usr/sbin/bng' in snmpd.conf (BNG-MIB)

On a target:
  bng agent [PORT] [--script PATH]
                                answer the agent health check (UDP, default port 439) with the
                                1-minute load average, or the first line PATH prints

Other:
  bng version                   print the version
  bng help                      print this help

FILE defaults to /etc/bng.conf.
Options:
  --socket PATH                 control socket (default /run/bng/bng.sock, or $BNG_SOCKET)
  --json                        machine-readable output
  -h, --help                    print this help
  -V, --version                 print the version
See bng(8).
`;

/** `help` inside `bng control`: the commands of the console, each a bng command without the `bng`. */
export const CONSOLE_HELP = `commands (as on the command line, without 'bng'; TAB completes verbs and ids):
  status [--json]                     servers, targets, health, sessions, counters, drops
  show servers|targets|networks [--json]
  show sessions [--server N] [--target N] [--client IP] [--limit N] [--json]
  show hc [--json]                    every target's health checks and their last results
  show arp [--json]                   the MAC learnt for each target's address
  show vrrp [--json]                  this node's VRRP state
  show parameters [--json]            every 'set' parameter and its value in force
  show config                         the running configuration in BalanceNG syntax
  explain CLIENT_IP[:PORT] [--server N] [--json]
                                      which target the client goes to now and why
  enable|disable target N             take a target into / out of service (disable drains)
  enable|disable server N             answer / stop answering for a server's VIP
  reload [FILE]                       load the configuration again (or FILE)
  clear counters                      count traffic and drops from zero again (status, show, SNMP)
  metrics                             counters in the Prometheus text format
  stop                                stop the running bng
  check [FILE] | print [FILE]         validate / print a configuration file
  version                             the version of this bng command
  help | ?                            this list
  quit | exit                         leave the console (as does Ctrl-D)
`;
