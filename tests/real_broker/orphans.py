"""Find processes that a real run left behind, by their command lines in /proc."""

import os


def leftover_processes(keep=None) -> list[str]:
    """Live (non-zombie) launcher, service and nats-server processes of microlab runs, but ``keep``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == keep:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        if "microlab.real.broker" in cmd or ("nats-server" in cmd and "microlab-nats-" in cmd):
            found.append(f"{pid}: {cmd.strip()}")
    return found


def alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
