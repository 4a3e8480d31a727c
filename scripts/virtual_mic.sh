#!/usr/bin/env bash
# A virtual microphone for machines with no sound card: a user-space PulseAudio
# daemon whose default sink `vspeaker` (a null sink) is looped back into the
# default source `vmic`. Whatever is played (paplay, sd.play) is what
# sounddevice records.
#
#   scripts/virtual_mic.sh start   start the daemon (idempotent), print the env
#   scripts/virtual_mic.sh env     print `export PULSE_SERVER=...` for eval
#   scripts/virtual_mic.sh status  exit 0 if the daemon answers
#   scripts/virtual_mic.sh stop    stop the keep-alive player and the daemon
#
# Typical use:  eval "$(scripts/virtual_mic.sh start)"
#
# Settings (environment):
#   AUDIOCLF_PULSE_DIR   scratch dir for config, socket, pid files (/tmp/audioclf-pulse)
#   AUDIOCLF_PULSE_RATE  sample rate of the virtual sink/source in Hz (48000)
#
# Every client (tests, the Jupyter server, its kernels) needs PULSE_SERVER.
set -euo pipefail

PULSE_DIR="${AUDIOCLF_PULSE_DIR:-/tmp/audioclf-pulse}"
RATE="${AUDIOCLF_PULSE_RATE:-48000}"
SOCKET="$PULSE_DIR/native"
SERVER="unix:$SOCKET"
KEEPALIVE_PID_FILE="$PULSE_DIR/keepalive.pid"

# Our own home for the daemon and pactl, so a user's ~/.config/pulse and
# session bus are never touched. pulseaudio reads $HOME/.config/pulse.
export PULSE_SERVER="$SERVER"
export HOME="$PULSE_DIR" XDG_RUNTIME_DIR="$PULSE_DIR" XDG_CONFIG_HOME="$PULSE_DIR/.config"
unset DBUS_SESSION_BUS_ADDRESS

print_env() {
    echo "export PULSE_SERVER=$SERVER"
    echo "export AUDIOCLF_PULSE_DIR=$PULSE_DIR"
}

server_answers() {
    timeout 2 pactl info >/dev/null 2>&1
}

daemon_pid() {
    # pulseaudio writes its pid to $XDG_RUNTIME_DIR/pulse/pid.
    local pid_file="$PULSE_DIR/pulse/pid"
    [ -f "$pid_file" ] && process_alive "$(cat "$pid_file")" && cat "$pid_file"
}

process_alive() {
    # A zombie counts as gone: on some machines PID 1 reaps orphans only after ~1 s.
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" && [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

keepalive_running() {
    [ -f "$KEEPALIVE_PID_FILE" ] && process_alive "$(cat "$KEEPALIVE_PID_FILE")"
}

write_config() {
    cat >"$PULSE_DIR/default.pa" <<EOF
load-module module-native-protocol-unix auth-anonymous=1 socket=$SOCKET
load-module module-null-sink sink_name=vspeaker rate=$RATE channels=1 sink_properties=device.description=VirtualSpeaker
load-module module-remap-source source_name=vmic master=vspeaker.monitor source_properties=device.description=VirtualMicrophone
set-default-sink vspeaker
set-default-source vmic
EOF
    # The daemon's default format matches the sink so nothing is resampled
    # twice; clients never autospawn a second daemon.
    mkdir -p "$PULSE_DIR/.config/pulse"
    echo "autospawn = no" >"$PULSE_DIR/.config/pulse/client.conf"
    cat >"$PULSE_DIR/.config/pulse/daemon.conf" <<EOF
default-sample-rate = $RATE
default-sample-channels = 1
exit-idle-time = -1
flat-volumes = no
EOF
}

start_keepalive() {
    # Without a player attached the null sink idles in ~2 s blocks and a new
    # recorder waits 1-2 s for its first data; a silent stream keeps it ticking.
    keepalive_running && return 0
    nohup pacat --playback --device=vspeaker --latency-msec=20 --rate="$RATE" \
        --channels=1 --format=s16le --raw /dev/zero >"$PULSE_DIR/keepalive.log" 2>&1 &
    echo $! >"$KEEPALIVE_PID_FILE"
    for _ in $(seq 1 100); do  # up to ~5 s for the stream to attach
        [ -n "$(pactl list short sink-inputs 2>/dev/null)" ] && break
        sleep 0.05
    done
    # The sink may still be inside the ~2 s block it began before the stream
    # attached; a suspend/resume cycle restarts its timer at the short latency.
    pactl suspend-sink vspeaker 1
    pactl suspend-sink vspeaker 0
}

start() {
    mkdir -p "$PULSE_DIR"
    chmod 700 "$PULSE_DIR"
    if ! server_answers; then
        command -v pulseaudio >/dev/null || {
            echo "virtual_mic: pulseaudio not found; run scripts/install_system_deps.sh" >&2
            exit 1
        }
        rm -f "$SOCKET"
        write_config
        # Exit status is not trusted; the poll below decides, with the log as evidence.
        pulseaudio -n -F "$PULSE_DIR/default.pa" \
            --daemonize=yes --exit-idle-time=-1 --realtime=no --high-priority=no \
            --disallow-exit=no --use-pid-file=yes --log-target="file:$PULSE_DIR/pulseaudio.log" \
            >/dev/null 2>&1 || true
        for _ in $(seq 1 100); do  # up to ~5 s; it usually answers in 0.1-0.2 s
            server_answers && break
            sleep 0.05
        done
        server_answers || {
            echo "virtual_mic: PulseAudio did not start; log: $PULSE_DIR/pulseaudio.log" >&2
            tail -n 20 "$PULSE_DIR/pulseaudio.log" >&2 || true
            exit 1
        }
    fi
    start_keepalive
    print_env
}

stop() {
    if keepalive_running; then
        kill "$(cat "$KEEPALIVE_PID_FILE")" 2>/dev/null || true
    fi
    rm -f "$KEEPALIVE_PID_FILE"
    local pid
    pid="$(daemon_pid || true)"
    if server_answers; then
        pactl exit >/dev/null 2>&1 || true  # asks the daemon to quit cleanly
    fi
    for _ in $(seq 1 40); do  # up to 2 s for a clean exit
        if [ -z "$pid" ] || ! process_alive "$pid"; then break; fi
        sleep 0.05
    done
    if [ -n "$pid" ] && process_alive "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$SOCKET"
    echo "virtual_mic: stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    status)
        if server_answers; then echo "virtual_mic: running at $SERVER"
        else echo "virtual_mic: not running" >&2; exit 1; fi ;;
    *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
