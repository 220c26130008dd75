# Small network helpers for the integration tests (source this file).
# Everything here works on loopback only.

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
# The kernel picks it, so parallel tests do not collide on a fixed list.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# wait_port HOST PORT [SECONDS]: wait until a TCP connect succeeds.
wait_port() {
    local host=$1 port=$2 secs=${3:-20} i
    for ((i = 0; i < secs * 10; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "wait_port: nothing listens on $host:$port after ${secs}s" >&2
    return 1
}

# wait_file_grep FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX.
wait_file_grep() {
    local file=$1 re=$2 secs=${3:-10} i
    for ((i = 0; i < secs * 10; i++)); do
        grep -Eq -- "$re" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stop_pid PID [SECONDS]: TERM, wait, then KILL; never touches other processes.
stop_pid() {
    local pid=$1 secs=${2:-10} i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# pid_alive PID: true while PID runs (a zombie, exited but not yet reaped
# by this shell, counts as gone).
pid_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}
