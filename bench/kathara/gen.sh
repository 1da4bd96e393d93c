#!/bin/sh
# gen.sh OUT: writes the 20-device benchmark lab twice into OUT: OUT/kathara
# (Kathará's format: five collision domains A-E of four hosts each, every
# host addressed by its startup file) and OUT/native.yaml (the same lab in
# leolab's own format, addresses in the file). Used by bench/kathara/run.sh.
set -eu
out=$1
mkdir -p "$out/kathara"
conf="$out/kathara/lab.conf"
echo 'LAB_NAME="kbench"' > "$conf"
{
	echo "name: kbench"
	echo "bridges:"
	for cd in A B C D E; do
		n=$(printf %d "'$cd"); n=$((n - 64))
		echo "  $cd: {subnet: 10.0.$n.0/24, gateway: false}"
	done
	echo "nodes:"
} > "$out/native.yaml"
i=0
for cd in A B C D E; do
	n=$(printf %d "'$cd"); n=$((n - 64))
	for h in 1 2 3 4; do
		i=$((i + 1))
		echo "h$i[0]=\"$cd\"" >> "$conf"
		printf 'ip address add 10.0.%d.%d/24 dev eth0\nip link set eth0 up\n' "$n" $((h + 1)) > "$out/kathara/h$i.startup"
		echo "  h$i: {interfaces: {eth0: {bridge: $cd, ipv4: 10.0.$n.$((h + 1))/24}}}" >> "$out/native.yaml"
	done
done
