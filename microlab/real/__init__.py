"""Real infrastructure: the course's flows on a real Conductor server and a real broker.

Everything that starts a process, opens a socket or talks to a real server lives in
this subpackage. The simulator (kernel, engines, scenarios, figures) never imports it,
so the course runs without Java, NATS or a network; a test holds that boundary.
"""

# No names of its own: its modules (run, notebook, broker, conductor_server, ...) are the API.
__all__: list = []
