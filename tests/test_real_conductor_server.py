"""microlab.real.conductor_server without a real server: every way a start can fail says
what is missing, and leaves no process behind. (tests/real_conductor/ boots the real one.)"""

from __future__ import annotations

import os
import socket
import stat
import textwrap

import pytest

from microlab.real import conductor_server as cs


def fake_java(tmp_path, body: str, version: str = "17.0.9"):
    """A stand-in ``java``: answers -version like Java ``version``, else runs ``body``."""
    script = tmp_path / "java"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1" = "-version" ]; then echo 'openjdk version "{version}" 2023-10-17' >&2; exit 0; fi
        {body}
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.fixture
def jar(tmp_path, monkeypatch):
    path = tmp_path / "conductor-server-boot.jar"
    path.write_bytes(b"not really a jar")
    monkeypatch.setenv("MICROLAB_CONDUCTOR_JAR", str(path))
    return path


def test_no_java_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv("MICROLAB_JAVA", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(cs.shutil, "which", lambda name: None)
    with pytest.raises(cs.JavaMissing, match="no Java found.*Java 17 or newer.*apt-get install"):
        cs.find_java()


def test_java_too_old_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROLAB_JAVA", fake_java(tmp_path, "exit 0", version="11.0.2"))
    with pytest.raises(cs.JavaMissing, match="is Java 11; Conductor .* needs Java 17"):
        cs.find_java()
    monkeypatch.setenv("MICROLAB_JAVA", fake_java(tmp_path, "exit 0", version="1.8.0_292"))
    assert cs.java_major(os.environ["MICROLAB_JAVA"]) == 8


def test_no_jar_and_no_maven_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.delenv("MICROLAB_CONDUCTOR_JAR", raising=False)
    monkeypatch.setattr(cs, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(cs.shutil, "which", lambda name: None)
    with pytest.raises(cs.JarMissing, match="is missing and Maven .* not installed.*mvn dependency:copy "
                                            "-Dartifact=org.conductoross:conductor-server:3.21.14:jar:boot"):
        cs.ensure_jar()
    monkeypatch.setenv("MICROLAB_CONDUCTOR_JAR", str(tmp_path / "nosuch.jar"))
    with pytest.raises(cs.JarMissing, match="MICROLAB_CONDUCTOR_JAR names .*nosuch.jar, which does not exist"):
        cs.ensure_jar()


def test_a_port_in_use_is_refused_before_anything_starts(jar):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = cs.ConductorServer(port=port)
        with pytest.raises(cs.PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            server.start()
        assert server.process is None


def test_a_start_timeout_quotes_the_log_and_stops_the_process(tmp_path, jar, monkeypatch):
    monkeypatch.setenv("MICROLAB_JAVA", fake_java(tmp_path, "echo 'booting the fake server'; exec sleep 60"))
    server = cs.ConductorServer(timeout=1.5)
    with pytest.raises(cs.StartTimeout, match=r"(?s)not healthy after 2 s.*booting the fake server"):
        server.start()
    assert server.process is not None and server.process.poll() is not None   # stopped, not orphaned
    assert not server.data_dir.exists()                                      # its temp data is gone


def test_a_server_that_exits_while_starting_quotes_its_log(tmp_path, jar, monkeypatch):
    monkeypatch.setenv("MICROLAB_JAVA", fake_java(tmp_path, "echo 'Error: Unable to access jarfile'; exit 3"))
    server = cs.ConductorServer(timeout=30)
    with pytest.raises(cs.ServerExited, match=r"(?s)exited with status 3 while starting.*Unable to access jarfile"):
        server.start()
    assert not server.running()


def test_the_command_binds_to_loopback_and_keeps_state_in_the_temp_dir(tmp_path):
    server = cs.ConductorServer(port=18123)
    server.data_dir = tmp_path
    command = server.command("java", tmp_path / "x.jar")
    assert "--server.address=127.0.0.1" in command and "--server.port=18123" in command
    assert any(arg.startswith(f"--spring.datasource.url=jdbc:sqlite:{tmp_path}/") for arg in command)
