"""Entry point of every process of a real run: ``python -m microlab.real.broker.process CONFIG NAME FAULTS``.

NAME is a participant of the flow, or ``client``. FAULTS is this incarnation's part of
the fault plan as JSON (``{}`` for none). A process that cannot start writes one line
to stderr and exits with status 3; the supervisor quotes it.
"""

from __future__ import annotations

import asyncio
import json
import sys


def main(argv=None) -> int:
    """Run one process of a real run until it is killed."""
    config_path, name, faults = (argv if argv is not None else sys.argv[1:])[:3]
    from .service import ServiceProcess, describe_failure

    try:
        with open(config_path, encoding="utf-8") as fh:
            config = json.load(fh)
        if config.get("backend") == "kafka":
            from .kafka_process import KafkaClientProcess as client_class, KafkaServiceProcess as service_class
        else:
            from .client import ClientProcess as client_class
            service_class = ServiceProcess
        process = (client_class if name == "client" else service_class)(config, name, json.loads(faults))
        asyncio.run(process.main())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"{name}: {describe_failure(exc)}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
