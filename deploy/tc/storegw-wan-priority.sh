#!/usr/bin/env bash
# WireGuard first on the store's WAN link, for a mini-PC that is also the
# store's router: its own tunnels (and so every ERP request storegw sends)
# leave ahead of the rest of the store's egress (guest Wi-Fi, updates,
# cameras uploading) when the uplink is full.
#
#   storegw-wan-priority.sh apply  DEV RATE PORT [PORT...]
#   storegw-wan-priority.sh remove DEV
#   storegw-wan-priority.sh show   DEV
#
# DEV   the WAN interface (the WireGuard underlay), e.g. enp1s0 or wwan0
# RATE  a little below the uplink's real upload rate (tc units: 18mbit, 900kbit),
#       so the queue forms here, where it can be ordered, not in the modem
# PORT  WireGuard UDP ports, source or destination (the tunnels' listen ports
#       on this side and the ingress's ports on the other)
#
# How: an HTB root at RATE with two classes. WireGuard (1:10, prio 0) is
# guaranteed all of RATE and served first; everything else (1:20, the default)
# keeps a small floor (8 kbit, so it is never cut off) and borrows whatever
# WireGuard leaves. Only htb and u32 are used, found in any Debian kernel (the
# lab kernel here has neither prio, fq_codel nor cake).
# Egress only: what the store downloads is queued at the ISP, out of reach.
# Inside the tunnels it sees only WireGuard, so a checkout and a bulk download
# are one flow to it. Those two halves are storegw's own: a path's byte budget
# (paths[].byteBudget) keeps the bulk answers in flight to about targetMs of
# the link and holds their reading while a checkout waits, so the download
# queue at the far end stays short (docs/architecture.md, "ERP first in bytes").
set -euo pipefail

usage() {
  sed -n '7,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

valid_dev() { [[ $1 =~ ^[A-Za-z0-9_.:@-]{1,15}$ ]] || { echo "not an interface name: $1" >&2; exit 2; }; }
valid_rate() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit)$ ]] || { echo "not a tc rate (e.g. 18mbit, 900kbit): $1" >&2; exit 2; }; }
valid_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && (($1 >= 1 && $1 <= 65535)) || { echo "not a UDP port: $1" >&2; exit 2; }; }

[[ $# -ge 2 ]] || usage
action=$1
dev=$2
valid_dev "$dev"

case $action in
  apply)
    [[ $# -ge 4 ]] || usage
    rate=$3
    valid_rate "$rate"
    shift 3
    for p in "$@"; do valid_port "$p"; done
    # From scratch, so applying twice leaves one set of filters.
    tc qdisc del dev "$dev" root 2>/dev/null || true
    tc qdisc add dev "$dev" root handle 1: htb default 20
    tc class add dev "$dev" parent 1: classid 1:1 htb rate "$rate"
    tc class add dev "$dev" parent 1:1 classid 1:10 htb rate "$rate" ceil "$rate" prio 0
    tc class add dev "$dev" parent 1:1 classid 1:20 htb rate 8kbit ceil "$rate" prio 1
    # A short queue for the rest: a flood is dropped (and its senders back off)
    # instead of piling up seconds of delay behind the uplink.
    tc qdisc add dev "$dev" parent 1:20 handle 20: pfifo limit 64
    for p in "$@"; do
      tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip sport "$p" 0xffff flowid 1:10
      tc filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip dport "$p" 0xffff flowid 1:10
    done
    echo "storegw: WireGuard (UDP ${*}) first on $dev, shaped to $rate"
    ;;
  remove)
    tc qdisc del dev "$dev" root 2>/dev/null || true
    echo "storegw: $dev back to its default queue"
    ;;
  show)
    tc -s class show dev "$dev"
    ;;
  *)
    usage
    ;;
esac
