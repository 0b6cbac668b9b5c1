"""How long a turn may still run, on Lambda, counted from the request's arrival.

API Gateway gives up on a request 29 s after it arrived, whatever the function is doing: a cold
start's init, a wait for a database connection from RDS Proxy (its borrow timeout is 10 s) and
the commit all come out of those 29 s. A deadline counted from when the route starts would let a
turn finish and be stored after the client already got API Gateway's 504. So the turn's budget
is what is left of the 29 s since `requestContext.requestTimeEpoch` (REST API) or `timeEpoch`
(HTTP API), less a margin for the commit and the response, and never more than the function's
own remaining time or `KOPICHAT_TIMEOUT_S`. A turn whose budget is spent answers 504
`deadline_exceeded` and stores nothing.

Mangum puts the event and the context into the ASGI scope (`aws.event`, `aws.context`); outside
Lambda neither is there and the configured deadline applies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

# API Gateway's integration timeout (REST default; an HTTP API allows 30 s).
GATEWAY_TIMEOUT_S = 29.0
# Kept back for what follows the model call: the commit through RDS Proxy and the response's
# way back through Mangum and API Gateway.
RESPONSE_MARGIN_S = 1.5


def arrival_epoch_s(event: Mapping[str, Any]) -> float | None:
    """When API Gateway received the request (seconds since the epoch), or None if unknown."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    millis = context.get("requestTimeEpoch", context.get("timeEpoch"))
    return millis / 1000.0 if isinstance(millis, int | float) and millis > 0 else None


def behind_api_gateway(event: Mapping[str, Any]) -> bool:
    """REST and HTTP APIs time out at 29-30 s; a Function URL only at the function's timeout."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return False
    domain = str(context.get("domainName", ""))
    return ".lambda-url." not in domain


def turn_budget_s(
    scope: Mapping[str, Any], timeout_s: float, now: Callable[[], float] = time.time
) -> float | None:
    """The seconds this turn may still use; None when not on Lambda (the configured deadline)."""
    event = scope.get("aws.event")
    if not isinstance(event, Mapping):
        return None
    limits = [timeout_s]
    arrived = arrival_epoch_s(event)
    if arrived is not None and behind_api_gateway(event):
        waited = max(0.0, now() - arrived)
        limits.append(GATEWAY_TIMEOUT_S - waited - RESPONSE_MARGIN_S)
    remaining_ms = getattr(scope.get("aws.context"), "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        limits.append(remaining_ms() / 1000.0 - RESPONSE_MARGIN_S)
    return min(limits)
