#!/usr/bin/env bash
# Make sure MariaDB answers on 127.0.0.1:3306; start it if it is down (CI, make bench).
set -euo pipefail
mysql_up() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; }
if ! mysql_up; then
  echo "kopichat: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do mysql_up && break; sleep 1; done
fi
mysql_up || { echo "kopichat: MariaDB did not come up on 127.0.0.1:3306"; exit 1; }
echo "kopichat: MariaDB is up"
