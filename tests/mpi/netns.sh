#!/usr/bin/env bash
# Two machines on one: network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2, each
# end shaped by tc netem when asked), mpirun started in the first with one process per namespace
# over Open MPI's TCP transport only; the processes are launched through netns_agent.sh, as ssh
# would launch them on two hosts, and not bound to cores (each "host" would bind its process to
# the same first core of this one). Needs root (ip netns); removes the namespaces on exit.
# Usage: tests/mpi/netns.sh [--rate RATE] [--delay DELAY] [--timeout S] -- PROGRAM [ARGS...]
#   RATE and DELAY as tc takes them (1gbit, 0.2ms); none by default. A delay needs the kernel's
#   netem; a rate alone uses tbf.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rate="" delay="" limit=300
while (($#)); do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "netns.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "netns.sh: no program given" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "netns.sh: mpirun not found (openmpi-bin)" >&2; exit 2; }

id=$$
ns0=xk_a$id ns1=xk_b$id
hostfile=$(mktemp)
cleanup() {
  ip netns del "$ns0" 2>/dev/null || true
  ip netns del "$ns1" 2>/dev/null || true
  rm -f "$hostfile"
}
trap cleanup EXIT
ip netns add "$ns0"
ip netns add "$ns1"
ip link add "xkv0_$id" type veth peer name "xkv1_$id"
ip link set "xkv0_$id" netns "$ns0"
ip link set "xkv1_$id" netns "$ns1"
ip -n "$ns0" addr add 10.77.0.1/24 dev "xkv0_$id"
ip -n "$ns1" addr add 10.77.0.2/24 dev "xkv1_$id"
for ns in "$ns0" "$ns1"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns0" link set "xkv0_$id" up
ip -n "$ns1" link set "xkv1_$id" up
# a delay needs netem (with the rate in it); a rate alone is a token bucket (tbf), which kernels
# without netem (this sandbox's) have too
shape=()
if [[ -n "$delay" ]]; then
  shape=(netem delay "$delay")
  [[ -n "$rate" ]] && shape+=(rate "$rate")
elif [[ -n "$rate" ]]; then
  shape=(tbf rate "$rate" burst 256kb latency 500ms)
fi
if ((${#shape[@]})); then
  tc -n "$ns0" qdisc add dev "xkv0_$id" root "${shape[@]}" ||
    { echo "netns.sh: tc cannot shape the link with '${shape[*]}' (no such qdisc in this kernel?)" >&2; exit 3; }
  tc -n "$ns1" qdisc add dev "xkv1_$id" root "${shape[@]}"
fi
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$hostfile"

export XKERAS_NETNS_MAP="10.77.0.1=$ns0 10.77.0.2=$ns1"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export XKERAS_NUM_THREADS=${XKERAS_NUM_THREADS:-1}
status=0
timeout -s KILL "$limit" ip netns exec "$ns0" mpirun --hostfile "$hostfile" -np 2 \
  --mca plm_rsh_agent "$here/netns_agent.sh" --mca btl tcp,self --bind-to none \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  -x XKERAS_NUM_THREADS "$@" || status=$?
# what crossed the link, for the caller to check that the processes talked over it
echo "netns.sh: the link carried $(cat "/sys/class/net/xkv0_$id/statistics/tx_bytes" 2>/dev/null ||
  ip netns exec "$ns0" cat "/sys/class/net/xkv0_$id/statistics/tx_bytes") bytes one way"
exit "$status"
