#!/usr/bin/env bash
# A real single-node SLURM cluster (munge, MariaDB, slurmdbd, slurmctld, slurmd) on this machine, for tests.
#
#   tests/slurm/cluster.sh install          apt-get the Debian packages (SLURM 22.05 on Debian 12)
#   tests/slurm/cluster.sh start  [STATE]   install if needed, start the daemons, register cluster/account/user,
#                                           wait until the node is idle
#   tests/slurm/cluster.sh status [STATE]   which daemons run, and sinfo
#   tests/slurm/cluster.sh stop   [STATE]   stop exactly the daemons started from STATE, by PID
#
# STATE (default /tmp/synthaug-slurm) holds configs, logs, PID files, spool and the accounting database;
# delete it after `stop` for a clean cluster. Needs root and no running systemd (daemons are plain background
# processes). The account is `synthaug`, the partition `debug`, with one pretend GPU of type `tiny`.
set -euo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
readonly CLUSTER=synthaug ACCOUNT=synthaug
readonly CLIENT_CONF=/etc/slurm/slurm.conf
# Stop: the compute node first, then the others together (one still shutting down may find munge gone: harmless).
readonly DAEMONS=(slurmd slurmctld slurmdbd mariadbd munged)

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

# Poll CMD every 0.2 s for up to SECONDS; true as soon as it succeeds.
wait_for() {
    local seconds=$1; shift
    local tries=$((seconds * 5))
    while ((tries-- > 0)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}

pid_file() {
    case $1 in
        munged) echo /run/munge/munged.pid ;;
        mariadbd) echo "$STATE/mysql/mariadbd.pid" ;;  # mariadbd runs as mysql: inside its datadir
        *) echo "$STATE/run/$1.pid" ;;
    esac
}

# The PID of daemon $1 if it is running (its PID file names a live process with that command name).
running_pid() {
    local file pid
    file=$(pid_file "$1")
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ -r /proc/$pid/comm && $(</proc/$pid/comm) == "$1" ]] || return 1
    echo "$pid"
}

fail_with_log() {  # $1 daemon, $2 log file
    log "$1 did not come up; last lines of $2:"
    tail -n 20 "$2" >&2 2>/dev/null || true
    exit 1
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand (Debian 12 packages)"
    log "installing ${missing[*]}"
    # policy-rc.d (exit 101) keeps apt from starting the daemons itself; we start them below.
    [[ -e /usr/sbin/policy-rc.d ]] || die "/usr/sbin/policy-rc.d is missing: apt would start the daemons and ports would clash"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
}

write_configs() {
    local host cpus mem f
    host=$(hostname -s)
    getent hosts "$host" >/dev/null || die "hostname '$host' does not resolve; add '127.0.0.1 $host' to /etc/hosts"
    cpus=$(nproc); ((cpus < 4)) && cpus=4
    # RealMemory must not exceed what slurmd finds, or the node is drained.
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mkdir -p "$STATE"/{etc,run,log,slurmctld,slurmd}
    chmod 0755 "$STATE"  # MariaDB runs as mysql and must reach its datadir inside
    for f in slurm.conf gres.conf slurmdbd.conf; do
        sed -e "s|@STATE@|$STATE|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM@|$mem|g" \
            "$HERE/$f.in" >"$STATE/etc/$f"
    done
    chmod 600 "$STATE/etc/slurmdbd.conf"
    # Client commands (sbatch, sinfo, sacct) read /etc/slurm/slurm.conf; never replace a site's own file.
    if [[ -e $CLIENT_CONF && ! -L $CLIENT_CONF ]]; then
        die "$CLIENT_CONF exists and is not ours; move it away first"
    fi
    mkdir -p "$(dirname "$CLIENT_CONF")"
    ln -sfn "$STATE/etc/slurm.conf" "$CLIENT_CONF"
}

start_munge() {
    running_pid munged >/dev/null && return 0
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge /var/lib/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged
    wait_for 10 bash -c 'munge -n | unmunge' || fail_with_log munged /var/log/munge/munged.log
}

# Ready when it answers on its socket; stops waiting at once if the process has died.
mariadb_ready() {
    [[ -e /proc/$1 ]] || return 0
    mariadb-admin --no-defaults --socket=/run/mysqld/mysqld.sock ping
}

start_mariadb() {
    running_pid mariadbd >/dev/null && return 0
    local datadir=$STATE/mysql
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    if [[ ! -d $datadir/mysql ]]; then
        mariadb-install-db --no-defaults --user=mysql --datadir="$datadir" --skip-test-db \
            >"$STATE/log/mariadb-install.log" 2>&1 || fail_with_log mariadb-install-db "$STATE/log/mariadb-install.log"
    fi
    # --skip-networking: the Unix socket only, so no TCP port 3306 is opened.
    mariadbd --no-defaults --user=mysql --datadir="$datadir" --socket=/run/mysqld/mysqld.sock \
        --pid-file="$(pid_file mariadbd)" --skip-networking --log-error="$datadir/mariadb.log" \
        </dev/null >/dev/null 2>&1 &
    wait_for 30 mariadb_ready $! && running_pid mariadbd >/dev/null || fail_with_log mariadbd "$datadir/mariadb.log"
}

start_slurm_daemon() {  # $1 daemon; it forks into the background and writes its own PID file
    running_pid "$1" >/dev/null && return 0
    SLURM_CONF=$STATE/etc/slurm.conf "$1" || fail_with_log "$1" "$STATE/log/$1.log"
    wait_for 10 running_pid "$1" || fail_with_log "$1" "$STATE/log/$1.log"
}

# Add cluster, account and the submitting user unless they exist (sacctmgr fails on duplicates).
register() {
    local user
    user=$(id -un)
    wait_for 20 sacctmgr -n show cluster || fail_with_log slurmdbd "$STATE/log/slurmdbd.log"
    [[ -n $(sacctmgr -n -P show cluster "$CLUSTER" format=cluster) ]] || sacctmgr -i -Q add cluster "$CLUSTER" >&2
    [[ -n $(sacctmgr -n -P show account "$ACCOUNT" format=account) ]] ||
        sacctmgr -i -Q add account "$ACCOUNT" Cluster="$CLUSTER" Description=tests Organization=synthaug >&2
    # Without this association the SLURM plugin rejects every job ("account appears to be invalid").
    [[ -n $(sacctmgr -n -P show assoc where user="$user" account="$ACCOUNT" format=user) ]] ||
        sacctmgr -i -Q add user "$user" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >&2
}

node_idle() { [[ $(sinfo -h -N -o %T 2>/dev/null) == idle ]]; }

cmd_start() {
    [[ $(id -u) == 0 ]] || die "must run as root (daemons, /etc/munge, /etc/slurm)"
    install_packages
    write_configs
    start_munge
    start_mariadb
    start_slurm_daemon slurmdbd
    register
    start_slurm_daemon slurmctld
    start_slurm_daemon slurmd
    wait_for 30 node_idle || { sinfo -N >&2 || true; fail_with_log slurmd "$STATE/log/slurmd.log"; }
    log "ready: partition debug, account $ACCOUNT, state in $STATE"
}

# SIGTERM to each of PIDS; true once all have exited, SIGKILL to those still running after 30 s.
stop_pids() {
    local pid alive waited=0
    (($#)) || return 0
    kill -TERM "$@" 2>/dev/null || true
    while ((waited++ < 150)); do
        alive=0
        for pid in "$@"; do [[ -e /proc/$pid ]] && alive=1; done
        ((alive)) || return 0
        sleep 0.2
    done
    for pid in "$@"; do
        [[ -e /proc/$pid ]] && { log "PID $pid ignored SIGTERM for 30 s; sending SIGKILL"; kill -KILL "$pid"; }
    done
    return 0
}

cmd_stop() {
    # The compute node first (no job starts after it), then the other daemons together: one by one, each waited
    # for, the stop took 11.7 s, mostly each daemon's own shutdown; together 5.3 s.
    local d pid rest=()
    pid=$(running_pid slurmd) && stop_pids "$pid"
    for d in "${DAEMONS[@]:1}"; do pid=$(running_pid "$d") && rest+=("$pid"); done
    stop_pids "${rest[@]}"
    if [[ -L $CLIENT_CONF && $(readlink "$CLIENT_CONF") == "$STATE/etc/slurm.conf" ]]; then
        rm -f "$CLIENT_CONF"
    fi
    log "stopped"
}

cmd_status() {
    local d pid down=0
    for d in "${DAEMONS[@]}"; do
        if pid=$(running_pid "$d"); then echo "$d running (PID $pid)"; else echo "$d stopped"; down=1; fi
    done
    ((down == 0)) && sinfo -N
    return "$down"
}

STATE=${2:-/tmp/synthaug-slurm}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
readonly STATE
case ${1:-} in
    install) install_packages ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) die "usage: $0 install|start|stop|status [STATE_DIR]" ;;
esac
