# Sourced by start_local_slurm.sh and stop_local_slurm.sh: how they recognise an instance of their own.
#
# Every daemon start_local_slurm.sh starts carries MEMKD_LOCAL_SLURM=<its base folder> and
# MEMKD_LOCAL_SLURM_OWNER=<pid>:<start time> of the process that started it in its environment. /proc/PID/environ
# outlives the base folder (a killed pytest's tmp folder may be removed later) and no system SLURM carries it, so
# a daemon is ours only with that mark. /etc/slurm/slurm.conf is ours only when it is a symlink whose target the
# registry file next to it names (written when the link is made): the link's shape alone proves nothing.
# The caller defines say().
SYS_CONF=/etc/slurm/slurm.conf
SYS_CONF_REGISTRY=/etc/slurm/.local-slurm-link
DAEMONS="munged slurmctld slurmd"

proc_start() {  # proc_start PID: PID's start time (clock ticks after boot); fails if gone or a zombie
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  read -ra fields <<<"${stat##*) }"  # fields from the 3rd on (state, ppid, ...); comm may hold spaces
  [ "${fields[0]}" != Z ] && echo "${fields[19]}"
}

owner_alive() {  # owner_alive PID:START: that very process still runs (not a later one with a reused pid)
  local pid="${1%%:*}" start="${1#*:}"
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -n "$start" ] && [ "$(proc_start "$pid")" = "$start" ]
}

proc_env() {  # proc_env PID VAR: VAR's value in PID's environment (empty if unset or unreadable)
  tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | sed -n "s/^$2=//p" | head -1
}

our_daemons() {  # "PID NAME OWNER BASE" for each running daemon that start_local_slurm.sh started
  local dir pid name base
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    name="$(cat "$dir/comm" 2>/dev/null)" || continue
    case " $DAEMONS " in *" $name "*) ;; *) continue ;; esac
    proc_start "$pid" >/dev/null || continue  # a zombie has no environment left
    base="$(proc_env "$pid" MEMKD_LOCAL_SLURM)"
    [ -n "$base" ] && echo "$pid $name $(proc_env "$pid" MEMKD_LOCAL_SLURM_OWNER) $base"
  done
  return 0
}

foreign_daemons() {  # "pid PID (NAME): COMMAND LINE" for each slurmctld/slurmd without our mark
  local dir pid name
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    name="$(cat "$dir/comm" 2>/dev/null)" || continue
    case "$name" in slurmctld | slurmd) ;; *) continue ;; esac
    proc_start "$pid" >/dev/null || continue  # a zombie (not yet reaped: PID 1 here reaps late) is no daemon
    [ -z "$(proc_env "$pid" MEMKD_LOCAL_SLURM)" ] || continue
    echo "pid $pid ($name): $(tr '\0' ' ' 2>/dev/null <"$dir/cmdline")"
  done
  return 0
}

is_ours() {  # is_ours PID NAME BASE: PID is a NAME daemon that start_local_slurm.sh started for BASE
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && [ "$(proc_env "$1" MEMKD_LOCAL_SLURM)" = "$3" ]
}

stop_pid() {  # stop_pid NAME PID BASE: SIGTERM, SIGKILL after 15 s; only if PID is still our NAME of BASE
  local start
  is_ours "$2" "$1" "$3" && start="$(proc_start "$2")" || return 0
  say "stopping $1 (pid $2)"
  kill -TERM "$2" 2>/dev/null
  for _ in $(seq 1 60); do [ "$(proc_start "$2")" = "$start" ] || return 0; sleep 0.25; done
  say "$1 (pid $2) ignored SIGTERM, SIGKILL"
  kill -KILL "$2" 2>/dev/null
  sleep 0.5
}

registry_target() {  # the symlink target that start_local_slurm.sh recorded for /etc/slurm/slurm.conf
  sed -n 's/^target=//p' "$SYS_CONF_REGISTRY" 2>/dev/null | head -1
}
