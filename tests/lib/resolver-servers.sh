# tests/lib/resolver-servers.sh — the DNS servers the resolver tests run against.
#
#   source tests/lib/resolver-servers.sh
#   resolver_servers_start WORKDIR     # NSD with tests/data/resolver/*.zone, SERVFAIL zones
#                                      # and 1000 generated 198.18.0.0/16 hosts; the scripted
#                                      # broken server; a dead port. Exports IP25B_DNS_PORT,
#                                      # IP25B_DNS_V6, IP25B_FAKE_DNS_PORT, IP25B_DEAD_DNS_PORT.
#   resolver_servers_stop              # stops both by pid
source "$(dirname "${BASH_SOURCE[0]}")/dns-server.sh"

resolver_servers_start() {
    local work=$1 data
    data="$DNS_LIB_DIR/../data/resolver"
    mkdir -p "$work/zones" || return 1
    python3 "$DNS_LIB_DIR/gen-ptr-zones.py" 1000 "$work/zones" || return 1
    IP25B_DNS_PORT=$(dns_free_port) || return 1
    dns_server_start "$work" "$IP25B_DNS_PORT" "$data"/*.zone "$work"/zones/*.zone \
        servfail:113.0.203.in-addr.arpa servfail:servfail.test || return 1
    IP25B_FAKE_DNS_PORT=$(dns_free_port) || return 1
    dns_fake_start "$work" "$IP25B_FAKE_DNS_PORT" || return 1
    IP25B_DEAD_DNS_PORT=$(dns_closed_port) || return 1
    IP25B_DNS_V6=$DNS_SERVER_HAS_V6
    export IP25B_DNS_PORT IP25B_DNS_V6 IP25B_FAKE_DNS_PORT IP25B_DEAD_DNS_PORT
}

resolver_servers_stop() {
    dns_server_stop
    dns_fake_stop
}
