"""AWS Lambda entry point: `api.lambda_handler.handler`.

Built at import, once per container, so warm invocations reuse the engine, the model client and
the compiled chains. Lifespan is off: Mangum would otherwise run it on every invocation.
"""

from __future__ import annotations

import logging

from mangum import Mangum

from api.app import app_from_environment

logging.getLogger().setLevel(logging.INFO)

handler = Mangum(app_from_environment(), lifespan="off")
