package bridge

// Chains lists the leolab chains present in the nat and filter tables of
// every installed iptables backend (for destroy --all --cleanup, which
// removes those no lab owns). Equivalent to: iptables -t T -S | grep LEOLAB-
func Chains() ([]string, error) { return ipv4.chains() }
