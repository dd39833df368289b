/** A command line storegw cannot run: exit 2, the message and the usage (of `command`, when known) on stderr. */
export class UsageError extends Error {}

const ADMIN = '--admin URL (default http://127.0.0.1:9080), --token-file FILE, --json';

/**
 * Each command's usage: what `storegw COMMAND --help` (or `-h`, at any place in
 * its arguments, subcommands included) prints on stdout, and what follows a
 * usage error in that command on stderr.
 */
export const COMMAND_USAGE = {
  gateway: `usage: storegw gateway --config FILE
  runs a store gateway (SIGHUP reloads FILE, SIGTERM/SIGINT stop it)
options: -c, --config FILE   the gateway configuration (edge-config/examples/)`,
  hub: `usage: storegw hub --config FILE [--check]
  runs the central fleet hub
options: -c, --config FILE   the hub configuration
         --check             check the config and its token files, start nothing`,
  fleet: `usage: storegw fleet ls [--region R] [--tag T] [--state online|offline|up|degraded|down]
       storegw fleet show ID
       storegw fleet send ID COMMAND [--args JSON]
       storegw fleet send --region R | --tag T COMMAND [--args JSON]
options: --hub URL (or STOREGW_HUB_URL), --token-file FILE (or STOREGW_HUB_TOKEN_FILE), --json`,
  config: `usage: storegw config validate FILE   check a gateway config (exit 0 valid, 1 invalid)
       storegw config schema          print the gateway config JSON Schema`,
  status: `usage: storegw status [--admin URL] [--token-file FILE] [--json]
  link, queue and replay state of a running gateway
options: ${ADMIN}`,
  queue: `usage: storegw queue ls [--state pending|dead|unknown|delivered]
       storegw queue retry ID | storegw queue discard ID
       storegw queue settle ID --as retry|delivered --by NAME
  the journal of a running gateway (settle: retry = it is not in Odoo, send it again; delivered = it is)
options: ${ADMIN}`,
  journal: `usage: storegw journal verify FILE
       storegw journal export FILE --out EXPORT
       storegw journal export --admin URL [--token-file FILE] --out EXPORT
       storegw journal import EXPORT --into FILE [--from-backup --config GATEWAY.yaml]
  a store journal's safety net. verify: a stopped gateway's journal (integrity, schema, entries by
  state) or an export (checksum). export: what the journal still owes (pending, unknown and dead
  entries, bodies included) to a checksummed file, mode 0600 (it holds session cookies); FILE must
  not be open in a gateway, --admin exports a running one. import: into a stopped gateway's journal
  (created when missing), keys and order kept, keys it already holds skipped; all or nothing.
  --from-backup: the export was taken from a backup copy, a past state: pending entries of routes
  whose ERP does not dedupe (dedupe: none in --config) come in unknown, for a person to settle.
options: --out EXPORT, --into FILE, --from-backup, --config FILE, --admin URL, --token-file FILE, --json`,
  demo: `usage: storegw demo [--odoo 16|17|18|19] [--no-story] [--stores N] [--step-seconds S] [--cycles N] [--data DIR]
  a fleet on loopback: ERP simulator, hub + dashboard, stores behind WAN relays, tills selling,
  a narrated outage story (what npm start runs)
options: --odoo V           the Odoo release the ERP plays and the tills run: 16, 17, 18 or 19 (18)
         --no-story         just selling
         --stores N         stores, 2 to 50 (3)
         --step-seconds S   each step of the story, 2 to 3600 (20)
         --cycles N         story cycles, then stop; 0 = until Ctrl-C (0)
         --data DIR         keep the demo's files there (empty, or an earlier demo's)`,
  wg: `usage: storegw wg keygen --out DIR [--name NAME] [--force]
       storegw wg peer-config --store ID --uplink NAME --store-key FILE --region-public-key KEY
                              --endpoint HOST:PORT --tunnel-address ADDR[/NN] --region-address ADDR
                              [--interface IFACE] [--keepalive SEC] [--listen-port N] [--mtu N]
                              (--out DIR [--force] | --print)`,
} as const;

export type Command = keyof typeof COMMAND_USAGE;

export const isCommand = (s: string | undefined): s is Command => s !== undefined && Object.hasOwn(COMMAND_USAGE, s);

/**
 * Whether a command's arguments ask for help: `--help` or `-h` anywhere before a
 * `--`. An option's value never reads as either: node's parseArgs refuses a value
 * that starts with `-` unless it is given as `--name=-h`, and a file really named
 * `--help` is passed after `--`.
 */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export const USAGE = `usage: storegw <command> [options]      storegw <command> --help: that command's usage

  gateway --config FILE           run a store gateway
  hub --config FILE [--check]     run the central fleet hub (--check: config and token files only)
  fleet ls [--region R] [--tag T] [--state S] | fleet show ID
  fleet send ID|--region R|--tag T COMMAND [--args JSON]
                                  a fleet hub's gateways (--hub URL, --token-file FILE,
                                  or STOREGW_HUB_URL, STOREGW_HUB_TOKEN_FILE; --json)
  config validate FILE            check a gateway config (exit 0 valid, 1 invalid)
  config schema                   print the gateway config JSON Schema
  status [--admin URL] [--token-file FILE] [--json]
                                  link, queue and replay state of a running gateway
  queue ls [--state pending|dead|unknown|delivered] | queue retry ID | queue discard ID
  queue settle ID --as retry|delivered --by NAME
                                  the journal of a running gateway (admin options as for status)
  journal verify FILE | journal export FILE|--admin URL --out EXPORT | journal import EXPORT --into FILE
                                  carry a stopped gateway's unsent journal to another (verify, export,
                                  import [--from-backup --config FILE]; export --admin for a running
                                  one, with --token-file; --json)
  demo [--odoo 16|17|18|19] [--no-story] [--stores N] [--step-seconds S] [--cycles N] [--data DIR]
                                  a fleet on loopback: ERP simulator, hub + dashboard, stores behind
                                  WAN relays, emulated Odoo POS tills (default 18) and scanners, a
                                  narrated outage story (what npm start runs); exit 1 unless every
                                  order paid at a till is at the ERP once
  wg keygen --out DIR [--name NAME] [--force]
                                  a WireGuard key pair (NAME.key 0600, NAME.pub)
  wg peer-config --store ID --uplink NAME --store-key FILE --region-public-key KEY
     --endpoint HOST:PORT --tunnel-address ADDR[/NN] --region-address ADDR (--out DIR | --print)
                                  a store uplink's wg-quick config and the region's [Peer] for it
  --version, -v                   storegw's version
  --help, -h, help                this text

exit codes: 0 ok, 1 failure, 2 usage error`;
