# FRR's vrrpd as a VRRP peer in a namespace (sourced after lib.sh; needs root and Debian's frr package).
#
# vrrpd does not create its macvlans: as FRR's documentation has it, each address family gets a macvlan in
# bridge mode on the base interface, carrying the virtual MAC (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for
# IPv6), with a random IPv6 link-local (addrgenmode random) and the virtual address. vrrpd sets a backup's
# macvlan protodown and clears it on the master. zebra and vrrpd run with `-N NS --vty_socket DIR` and their
# own configuration files in DIR, so they never touch /etc/frr or /run/frr.

FRR_LIB=/usr/lib/frr

# frr_dir NS: the daemons' directory (sockets, pid files, configuration), readable by the frr user.
frr_dir() { echo "$VRE_TMP/frr-$1"; }

# frr_start NS VRID VERSION FAMILY PRIORITY ADVERT_MS VIP: macvlan, zebra and vrrpd in NS.
frr_start() {
    local ns=$1 vrid=$2 version=$3 family=$4 prio=$5 advert=$6 vip=$7
    local dir hex link mac kind len
    dir=$(frr_dir "$ns")
    hex=$(printf %02x "$vrid")
    if [ "$family" = ipv4 ]; then
        link="vrrp4-$vrid" mac="00:00:5e:00:01:$hex" kind=ip len=24
    else
        link="vrrp6-$vrid" mac="00:00:5e:00:02:$hex" kind=ipv6 len=64
    fi
    chmod 711 "$VRE_TMP"
    mkdir -p "$dir"
    # addrgenmode cannot be given when the link is created (the kernel ignores IFLA_AF_SPEC then).
    ip -n "$ns" link add "$link" link eth0 type macvlan mode bridge
    ip -n "$ns" link set "$link" addrgenmode random
    ip -n "$ns" link set "$link" address "$mac"
    if [ "$family" = ipv4 ]; then
        ip -n "$ns" addr add "$vip/$len" dev "$link"
    else
        ip -n "$ns" addr add "$vip/$len" dev "$link" nodad
    fi
    ip -n "$ns" link set "$link" up
    printf 'hostname %s\n' "$ns" >"$dir/zebra.conf"
    cat >"$dir/vrrpd.conf" <<EOF
hostname $ns
interface eth0
 vrrp $vrid version $version
 vrrp $vrid priority $prio
 vrrp $vrid advertisement-interval $advert
 vrrp $vrid $kind $vip
EOF
    chown -R frr:frr "$dir"
    chmod 755 "$dir"
    ip netns exec "$ns" "$FRR_LIB/zebra" -N "$ns" --vty_socket "$dir" -f "$dir/zebra.conf" -i "$dir/zebra.pid" \
        -z "$dir/zserv.api" --log "file:$dir/zebra.log" >"$dir/zebra.out" 2>&1 &
    echo $! >"$VRE_TMP/$ns-zebra.daemon"
    local i
    for i in $(seq 1 50); do [ -S "$dir/zserv.api" ] && break; sleep 0.1; done
    ip netns exec "$ns" "$FRR_LIB/vrrpd" -N "$ns" --vty_socket "$dir" -f "$dir/vrrpd.conf" -i "$dir/vrrpd.pid" \
        -z "$dir/zserv.api" --log "file:$dir/vrrpd.log" >"$dir/vrrpd.out" 2>&1 &
    echo $! >"$VRE_TMP/$ns-vrrpd.daemon"
}

# frr_stop NS: stops vrrpd and zebra, removes the macvlans.
frr_stop() {
    vre_stop "$1-vrrpd"
    vre_stop "$1-zebra"
    local link
    for link in $(ip -n "$1" -o link show type macvlan 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        ip -n "$1" link del "$link"
    done
}

# frr_status NS FAMILY: vrrpd's state of the family's router (Master, Backup, Initialize).
frr_status() {
    local v=v4
    [ "$2" = ipv6 ] && v=v6
    vtysh --vty_socket "$(frr_dir "$1")" -c 'show vrrp json' 2>/dev/null |
        python3 -c "import json, sys; print(json.load(sys.stdin)[0]['$v']['status'])" 2>/dev/null
}

frr_is() { [ "$(frr_status "$1" "$2")" = "$3" ]; }

# frr_running NS FAMILY: vrrpd's router for FAMILY has started (Backup or Master). vrrpd starts a router only once
# zebra has told it of the macvlan and the base's primary address, which takes a moment after it starts.
frr_running() { case "$(frr_status "$1" "$2")" in Backup | Master) return 0 ;; *) return 1 ;; esac; }

# frr_protodown NS LINK: whether vrrpd holds LINK protodown (a backup).
frr_protodown() { ip -n "$1" -d link show "$2" | grep -q 'protodown on'; }
