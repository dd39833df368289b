export class UsageError extends Error {}

export const USAGE = `usage: storegw <command>

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
  queue ls [--state pending|dead] | queue retry ID | queue discard ID
                                  the journal of a running gateway (admin options as for status)
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

exit codes: 0 ok, 1 failure, 2 usage error`;
