#!/bin/sh
# Starts Docker Engine inside this (privileged) container, as the official dind image does:
# no arguments, or options only, run dockerd with them; anything else runs as a command.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  # With cgroup v2 the engine must be able to make child groups: move every process of this
  # container into a group of its own, then hand all controllers down to the children.
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    while read -r pid; do
      echo "$pid" > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    done < /sys/fs/cgroup/cgroup.procs
    sed -e 's/ / +/g' -e 's/^/+/' /sys/fs/cgroup/cgroup.controllers \
      > /sys/fs/cgroup/cgroup.subtree_control
  fi
  set -- dockerd --host=unix:///var/run/docker.sock "$@"
fi
exec "$@"
