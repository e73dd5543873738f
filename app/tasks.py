"""The worker entry point: `dramatiq app.tasks`.

Importing this module builds the worker process's composition root from the environment and
makes its broker Dramatiq's global one, which is where Dramatiq's CLI looks for the actors to
run. That broker already carries `stepline.run_step`, declared on it and bound to this
container's runner (app.broker). This is the process's only global, and only worker processes
import this module: the web app, `flask` commands and tests build containers of their own.
"""

from __future__ import annotations

import dramatiq

from app.container import Container

container = Container.from_environment()
dramatiq.set_broker(container.broker)
