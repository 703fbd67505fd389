#!/usr/bin/env bash
# A small Airflow 3 deployment for saber on one machine: PostgreSQL metadata database, and
# api-server, scheduler and dag-processor as separate processes on 127.0.0.1; LocalExecutor, or
# CeleryExecutor with a Redis broker and Celery workers, each with its queues and slots.
# tests/airflow_deployment.py starts the same thing for the tests.
#
#   DATABASE_URL=postgresql+psycopg2://USER:PASS@127.0.0.1:5432/airflow \
#   AIRFLOW_HOME=~/airflow DAGS_FOLDER=~/airflow/dags PORT=8080 scripts/airflow-deployment.sh start
#   EXECUTOR=celery WORKERS="cpu:default:4 gpu:gpu:2" DATABASE_URL=... scripts/airflow-deployment.sh start
#   scripts/airflow-deployment.sh token    # a REST token: curl -H "Authorization: Bearer $(...)" ...
#   scripts/airflow-deployment.sh stop
#
# Settings (environment; AIRFLOW_HOME alone is enough after the first start):
#   AIRFLOW_HOME  Airflow's config, task logs and this script's state (default ./airflow)
#   DAGS_FOLDER   where saber writes DAG files (--dags-folder DIR; default $AIRFLOW_HOME/dags)
#   DATABASE_URL  an existing, empty PostgreSQL database (e.g. `createdb airflow`), first start only
#   PORT          the api-server's port on 127.0.0.1 (default 8080)
#   PARALLELISM   task slots (default: the number of cores)
#   SABER_STORAGE where saber's tasks keep run files (default $AIRFLOW_HOME/storage)
#   SABER_HOME    the tasks' saber home (default $AIRFLOW_HOME/saber-home)
#   PYTHON        the project's virtualenv python (default .venv/bin/python of this checkout)
#   EXECUTOR      local (default) or celery, first start only; celery needs Debian's redis-server
#                 and apache-airflow-providers-celery (in saber's `test` extra)
#   REDIS_PORT    celery: the broker's port on 127.0.0.1 (default 6379), first start only
#   WORKERS       celery: "NAME:QUEUES:CONCURRENCY ..." (default "worker:default:<cores>"), QUEUES
#                 comma-separated; saber's GPU steps go to queue gpu, the others to default. A
#                 worker's task instances show NAME as their hostname; it sources
#                 $AIRFLOW_HOME/deployment/worker-NAME.env if there (e.g. `export SABER_GPUS=0,1`)
# Process output goes to $AIRFLOW_HOME/deployment/NAME.log, task logs to $AIRFLOW_HOME/logs/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$root/.venv/bin/python}
export AIRFLOW_HOME=$(realpath -m "${AIRFLOW_HOME:-$PWD/airflow}")
state=$AIRFLOW_HOME/deployment
settings=$state/settings.env # everything the processes (and your `airflow` CLI calls) need
passwords=$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
processes=(api-server scheduler dag-processor)
hostname_module=$root/scripts # saber_worker_hostname.py, the workers' [core] hostname_callable
log() { printf '[airflow-deployment] %s\n' "$*" >&2; }

write_settings() {
  : "${DATABASE_URL:?set DATABASE_URL to an empty PostgreSQL database (postgresql+psycopg2://...)}"
  local port=${PORT:-8080} dags=$(realpath -m "${DAGS_FOLDER:-$AIRFLOW_HOME/dags}")
  local storage=$(realpath -m "${SABER_STORAGE:-$AIRFLOW_HOME/storage}")
  local executor
  executor=$(executor_class) || exit 2
  mkdir -p "$state" "$dags" "$storage"
  # The secrets are made once and kept: a new Fernet key would make the stored Variables
  # unreadable, and all processes must share the JWT secret (tasks' and REST tokens).
  secret() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))'; }
  fernet() { "$PYTHON" -c 'from cryptography.fernet import Fernet as F; print(F.generate_key().decode())'; }
  local auth_manager=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
  touch "$settings" && chmod 600 "$settings"
  cat >"$settings" <<EOF
export AIRFLOW_HOME='$AIRFLOW_HOME'
export AIRFLOW__CORE__DAGS_FOLDER='$dags'
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN='$DATABASE_URL'
export AIRFLOW__CORE__EXECUTOR=$executor
export AIRFLOW__CORE__PARALLELISM=${PARALLELISM:-$(nproc)}
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__FERNET_KEY='$(fernet)'
export AIRFLOW__CORE__AUTH_MANAGER=$auth_manager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__API_AUTH__JWT_SECRET='$(secret)'
export AIRFLOW__API__SECRET_KEY='$(secret)'
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$port
export AIRFLOW__API__BASE_URL=http://127.0.0.1:$port
export AIRFLOW__API__WORKERS=1
# Tasks report their state to the api-server's execution API.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$port/execution/
# New DAG files are seen within ~1.5 s, changed ones re-parsed within ~1 s (defaults: 300 s / 30 s).
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=1
export AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL=1
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=5
# A dependency hop costs ~0.5 s instead of ~1 s.
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=0.2
export SABER_STORAGE='$storage'
# The deployment's own saber state (volume caches...), apart from the clients' ~/.saber.
export SABER_HOME='$(realpath -m "${SABER_HOME:-$AIRFLOW_HOME/saber-home}")'
# Tasks find the virtualenv's programs first.
export PATH='$(dirname "$PYTHON")':"\$PATH"
EOF
  [ "$executor" = CeleryExecutor ] || return 0
  cat >>"$settings" <<EOF
export AIRFLOW__CELERY__BROKER_URL=redis://127.0.0.1:${REDIS_PORT:-6379}/0
# Celery's database result backend must name the driver (a bare db+postgresql:// wants psycopg 3).
export AIRFLOW__CELERY__RESULT_BACKEND='db+${DATABASE_URL/#postgresql:/postgresql+psycopg2:}'
# This script's own: the workers (WORKERS at a start overrides it).
DEPLOYMENT_WORKERS='${WORKERS:-worker:default:$(nproc)}'
EOF
}

executor_class() {
  case ${EXECUTOR:-local} in
    local) echo LocalExecutor ;;
    celery) echo CeleryExecutor ;;
    *) log "EXECUTOR must be local or celery, not '$EXECUTOR'"; exit 2 ;;
  esac
}

start() {
  local pid_file workers=${WORKERS:-} celery=0
  for pid_file in "$state"/*.pid; do
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      log "already running ($(basename "$pid_file" .pid)); stop it first"; exit 1
    fi
  done
  "$PYTHON" -c 'import asyncpg' 2>/dev/null ||
    { log "the api-server needs asyncpg for PostgreSQL: $PYTHON -m pip install asyncpg"; exit 1; }
  [ -f "$settings" ] || write_settings
  # The caller's own Airflow and saber settings must not leak into the deployment.
  for v in $(compgen -e); do
    case $v in AIRFLOW__* | AIRFLOW_CONFIG | SABER_* | _SABER_*) unset "$v" ;; esac
  done
  # shellcheck disable=SC1090
  source "$settings"
  if [ "$AIRFLOW__CORE__EXECUTOR" = CeleryExecutor ]; then
    celery=1 workers=${workers:-$DEPLOYMENT_WORKERS}
    start_broker
  fi
  # SimpleAuthManager only generates passwords missing from this file: write ours first.
  [ -f "$passwords" ] || "$PYTHON" -c \
    'import json, secrets; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' >"$passwords"
  log "migrating the database"
  "$PYTHON" -m airflow db migrate >>"$state/db-migrate.log" 2>&1 ||
    { tail -n 30 "$state/db-migrate.log"; exit 1; }
  for name in "${processes[@]}"; do
    args=("$name")
    # LocalExecutor tasks write their logs here and the api-server reads the files directly;
    # the scheduler's log server would listen on 0.0.0.0:8793, so it is not started.
    [ "$name" = scheduler ] && args+=(--skip-serve-logs)
    # setsid: each process leads its own session, so `stop` also finds its task processes.
    setsid nohup "$PYTHON" -m airflow "${args[@]}" >>"$state/$name.log" 2>&1 </dev/null &
    echo $! >"$state/$name.pid"
  done
  ((celery)) && start_workers "$workers"
  log "waiting until healthy (logs: $state/*.log)"
  for _ in $(seq 120); do
    if health=$(curl -fsS "$AIRFLOW__API__BASE_URL/api/v2/monitor/health" 2>/dev/null) &&
      "$PYTHON" -c '
import json, sys; h = json.load(sys.stdin)
sys.exit(any(h[p]["status"] != "healthy" for p in ("metadatabase", "scheduler", "dag_processor")))' \
        <<<"$health"; then
      ((celery)) && await_workers "$workers"
      log "ready: $AIRFLOW__API__BASE_URL (user admin, password in $passwords)"
      log "DAGs folder: $AIRFLOW__CORE__DAGS_FOLDER; airflow CLI: source $settings"
      return 0
    fi
    sleep 1
  done
  log "not healthy after 120 s"; tail -n 20 "$state"/*.log; exit 1
}

start_broker() {
  command -v redis-server >/dev/null || { log "a Celery deployment needs Redis: apt-get install redis-server"; exit 1; }
  "$PYTHON" -c 'import airflow.providers.celery' 2>/dev/null || {
    log "a Celery deployment needs: $PYTHON -m pip install 'apache-airflow-providers-celery~=3.26.0' 'celery<5.7' redis"
    exit 1
  }
  local port=${AIRFLOW__CELERY__BROKER_URL##*:}
  port=${port%%/*}
  # Debian's package may have started a system-wide Redis on 6379: never share one by mistake.
  if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
    log "port $port already has a Redis: stop it, or start with a fresh AIRFLOW_HOME and another REDIS_PORT"
    exit 1
  fi
  # Only a queue of task messages: nothing worth saving to disk.
  setsid nohup redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$state" \
    >>"$state/redis.log" 2>&1 </dev/null &
  echo $! >"$state/redis.pid"
  for _ in $(seq 50); do
    kill -0 "$(cat "$state/redis.pid")" 2>/dev/null || break
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.2
  done
  log "redis-server not answering on port $port"; tail -n 20 "$state/redis.log"; exit 1
}

start_workers() {
  local spec name queues concurrency
  for spec in $1; do
    IFS=: read -r name queues concurrency <<<"$spec"
    [[ $name =~ ^[A-Za-z0-9_.-]+$ && -n $queues && $concurrency =~ ^[1-9][0-9]*$ ]] ||
      { log "a worker is NAME:QUEUES:CONCURRENCY (e.g. gpu:gpu:2), not '$spec'"; exit 2; }
    # Its task logs go to $AIRFLOW_HOME/logs like everyone's, and the api-server reads them there:
    # no log server (it would listen on 0.0.0.0).
    (
      export SABER_WORKER_NAME=$name AIRFLOW__CORE__HOSTNAME_CALLABLE=saber_worker_hostname.hostname
      export PYTHONPATH=$hostname_module${PYTHONPATH:+:$PYTHONPATH}
      # shellcheck disable=SC1090
      if [ -f "$state/worker-$name.env" ]; then source "$state/worker-$name.env"; fi
      exec setsid nohup "$PYTHON" -m airflow celery worker --queues "$queues" --concurrency "$concurrency" \
        --celery-hostname "$name@%h" --skip-serve-logs >>"$state/worker-$name.log" 2>&1 </dev/null
    ) &
    echo $! >"$state/worker-$name.pid"
  done
}

await_workers() {
  local spec name
  for spec in $1; do
    name=${spec%%:*}
    for _ in $(seq 120); do
      grep -q "$name@[^ ]* ready\." "$state/worker-$name.log" && continue 2
      kill -0 "$(cat "$state/worker-$name.pid")" 2>/dev/null || break
      sleep 0.5
    done
    log "celery worker $name did not start"; tail -n 20 "$state/worker-$name.log"; exit 1
  done
  log "celery workers ready: $1"
}

stop() {
  # Workers and scheduler first, the api-server (tasks being stopped still report their state
  # through it) and the broker after them.
  local pid_file workers=()
  for pid_file in "$state"/worker-*.pid; do
    [ -f "$pid_file" ] && workers+=("$(basename "$pid_file" .pid)")
  done
  terminate "${workers[@]}" scheduler dag-processor
  terminate api-server redis
  log "stopped"
}

terminate() {
  local pids=() name pid alive
  for name in "$@"; do
    [ -f "$state/$name.pid" ] && pids+=("$(cat "$state/$name.pid")")
  done
  # SIGTERM reaches each whole group: task supervisors pass it on to their tasks (on_kill runs),
  # but the scheduler may go on waiting for them ("Signal again..."): a second SIGTERM ends that.
  for _ in 1 2; do
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
      alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break; sleep 0.1
    done
  done
  # Whatever is left in the sessions (task processes lead process groups of their own).
  for pid in "${pids[@]}"; do pkill -KILL -s "$pid" 2>/dev/null || true; done
  for name in "$@"; do rm -f "$state/$name.pid"; done
}

token() {
  source "$settings"
  # POST /auth/token {"username", "password"} -> 201 {"access_token"}, valid 24 h.
  "$PYTHON" - "$passwords" <<'PY' |
import json, sys
print(json.dumps({"username": "admin", "password": json.load(open(sys.argv[1]))["admin"]}))
PY
    curl -fsS -X POST "$AIRFLOW__API__BASE_URL/auth/token" -H 'Content-Type: application/json' -d @- |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  token) token ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
