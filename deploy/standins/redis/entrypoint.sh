#!/bin/sh
# As the official image does: no config file means no protected mode (the container's network
# is the boundary), and the server drops root for the redis user.
set -e
if [ "$1" = redis-server ]; then
  shift
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
