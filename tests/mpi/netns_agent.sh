#!/bin/sh
# Open MPI's remote launcher (plm_rsh_agent) for tests/mpi/netns.sh: instead of ssh HOST COMMAND,
# runs COMMAND in the network namespace that XKERAS_NETNS_MAP ("IP=NAMESPACE ...") gives HOST.
host=$1
shift
for pair in $XKERAS_NETNS_MAP; do
  if [ "${pair%%=*}" = "$host" ]; then
    exec ip netns exec "${pair#*=}" sh -c "$*"
  fi
done
echo "netns_agent.sh: no namespace for host '$host' in XKERAS_NETNS_MAP='$XKERAS_NETNS_MAP'" >&2
exit 1
