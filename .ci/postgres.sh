# Start a private PostgreSQL cluster for the tests and export HCL_TEST_POSTGRES_URL.
# Sourced by .ci/run; usable by hand: `. .ci/postgres.sh; start_postgres`.
start_postgres() {
  local bin port dir
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  port=${HCL_PG_PORT:-55432}
  dir=${HCL_PG_DIR:-/tmp/hcl-pg-$port}
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    rm -rf "$dir"
    mkdir -p "$dir" && chown postgres:postgres "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
  fi
  export HCL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
