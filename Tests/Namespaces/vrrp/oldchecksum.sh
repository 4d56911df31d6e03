# old_unicast_checksum against keepalived 2.2.7 (built with OLD_CHKSUM_COMPAT, as Debian's is), VRRPv3 IPv4 unicast
# (sourced by run.sh): keepalived up to 1.3.6 summed the multicast group, not the peer, in the checksum.

oc=voc
vre_pair "$oc"

# oc_case NAME VIGIL_EXTRA VIGIL_PRIO KEEPALIVED_EXTRA KEEPALIVED_PRIO: both started, unicast v3, advert 0.2.
oc_case() {
    VRE_EXTRA="$2" vre_config "$VRE_TMP/oc-a.conf" 3 ipv4 unicast "$3" 0 192.0.2.1 192.0.2.2 0.2
    VRE_EXTRA="$4" vre_config "$VRE_TMP/oc-b.conf" 3 ipv4 unicast "$5" 0 192.0.2.2 192.0.2.1 0.2
    vre_start vigil "$oc-a" "$VRE_TMP/oc-a.conf"
    vre_start keepalived "$oc-b" "$VRE_TMP/oc-b.conf"
}
oc_stop() {
    vre_stop "$oc-a"
    vre_stop "$oc-b"
}

oc_case detect "" 200 old_unicast_checksum 100
check "keepalived with old_unicast_checksum, Vigil by default: Vigil (200) alone holds the VIP" \
    vre_wait 6 vre_only "$oc" 192.0.2.100 a
sleep 2
check "old checksum detected: still only Vigil 2 s later (keepalived accepts Vigil's old checksums)" \
    vre_only "$oc" 192.0.2.100 a
check "old checksum detected: Vigil says so" grep -q "uses the old VRRPv3 unicast checksum" "$VRE_TMP/$oc-a.log"
oc_stop

oc_case configured old_unicast_checksum 200 "" 100
check "Vigil with old_unicast_checksum, keepalived by default: Vigil (200) alone holds the VIP" \
    vre_wait 6 vre_only "$oc" 192.0.2.100 a
sleep 2
check "old_unicast_checksum: still only Vigil 2 s later" vre_only "$oc" 192.0.2.100 a
check "old_unicast_checksum: keepalived switched to the old checksum for Vigil's adverts" \
    grep -q "Setting unicast VRRPv3 checksum to old version" "$VRE_TMP/$oc-b.log"
oc_stop

oc_case never "old_unicast_checksum never" 100 old_unicast_checksum 200
sleep 3
check "old_unicast_checksum never: keepalived's old checksums are dropped (Vigil takes the VIP too)" \
    vre_only "$oc" 192.0.2.100 both
oc_stop
