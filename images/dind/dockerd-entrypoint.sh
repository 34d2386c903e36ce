#!/bin/sh
# Starts Docker Engine inside this (privileged) container, as the official dind image does,
# faults included:
# - no arguments, or options only: dockerd with its usual socket and a TCP listener on every
#   interface of the container, with TLS (certificates made under DOCKER_TLS_CERTDIR, /certs
#   unless set) or, when DOCKER_TLS_CERTDIR is set empty, on 2375 without any: then anything
#   that reaches the container drives its engine, and so the host. Name `dockerd` and its
#   `--host`s to have none of that;
# - `dockerd ...`: exactly that command;
# - anything else runs as a command.
set -eu

# A CA, and a server and a client certificate signed by it, under $1 (kept when they exist).
make_certs() {
  dir=$1
  [ -s "$dir/server/cert.pem" ] && return 0
  mkdir -p "$dir/ca" "$dir/server" "$dir/client"
  days=825
  openssl req -x509 -newkey rsa:4096 -nodes -days "$days" -subj '/CN=docker:dind CA' \
    -keyout "$dir/ca/key.pem" -out "$dir/ca/cert.pem" 2>/dev/null
  names="DNS:$(hostname),DNS:docker,DNS:localhost"
  for address in $(hostname -i); do names="$names,IP:$address"; done
  for side in server client; do
    if [ "$side" = server ]; then ext="subjectAltName=$names"; else ext="extendedKeyUsage=clientAuth"; fi
    openssl req -newkey rsa:4096 -nodes -subj "/CN=docker:dind $side" \
      -keyout "$dir/$side/key.pem" -out "$dir/$side/csr.pem" 2>/dev/null
    openssl x509 -req -in "$dir/$side/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" \
      -CAcreateserial -days "$days" -extfile /dev/stdin -out "$dir/$side/cert.pem" 2>/dev/null <<EOF
$ext
EOF
    cp "$dir/ca/cert.pem" "$dir/$side/ca.pem"
  done
  # The client's key is for whoever mounts the client folder, as in the official image.
  chmod 0644 "$dir/client/key.pem"
}

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
    make_certs "$DOCKER_TLS_CERTDIR"
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
      --tlscacert "$DOCKER_TLS_CERTDIR/server/ca.pem" \
      --tlscert "$DOCKER_TLS_CERTDIR/server/cert.pem" \
      --tlskey "$DOCKER_TLS_CERTDIR/server/key.pem" "$@"
  else
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
  fi
fi

if [ "$1" = dockerd ]; then
  # An engine stopped uncleanly leaves its pid file, and would not start again over it.
  find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
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
fi
exec "$@"
