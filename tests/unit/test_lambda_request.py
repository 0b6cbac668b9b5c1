"""What the Lambda handler reads from an event: the stage prefix and the turn's time budget."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from api.lambda_budget import GATEWAY_TIMEOUT_S, RESPONSE_MARGIN_S, turn_budget_s
from api.stage_path import stage_prefix
from tests.deploy.lambda_events import build_event, lambda_context

NOW = 1_800_000_000.0


def scope_for(event: dict[str, object], remaining_ms: int = 28_000) -> dict[str, object]:
    context = lambda_context()
    context.remaining_ms = remaining_ms
    return {"type": "http", "aws.event": event, "aws.context": context}


def arrived(shape: str, seconds_before_now: float) -> dict[str, object]:
    event = build_event(shape, "POST", "/api/chat", {"message": "x"})  # type: ignore[arg-type]
    key = "requestTimeEpoch" if shape == "rest_v1" else "timeEpoch"
    event["requestContext"][key] = int((NOW - seconds_before_now) * 1000)
    return event


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_the_budget_is_what_is_left_of_the_gateways_29_s(shape: str) -> None:
    budget = turn_budget_s(scope_for(arrived(shape, 10.0)), 25.0, now=lambda: NOW)
    assert budget == pytest.approx(GATEWAY_TIMEOUT_S - 10.0 - RESPONSE_MARGIN_S)
    fresh = turn_budget_s(scope_for(arrived(shape, 0.2)), 25.0, now=lambda: NOW)
    assert fresh == pytest.approx(25.0), "never more than KOPICHAT_TIMEOUT_S"
    spent = turn_budget_s(scope_for(arrived(shape, 28.0)), 25.0, now=lambda: NOW)
    assert spent is not None
    assert spent <= 0


def test_the_functions_remaining_time_also_bounds_the_budget() -> None:
    scope = scope_for(arrived("rest_v1", 1.0), remaining_ms=6_000)
    assert turn_budget_s(scope, 25.0, now=lambda: NOW) == pytest.approx(6.0 - RESPONSE_MARGIN_S)


def test_a_function_url_has_no_gateway_limit() -> None:
    scope = scope_for(arrived("function_url", 28.0))
    assert turn_budget_s(scope, 25.0, now=lambda: NOW) == pytest.approx(25.0)


def test_a_clock_ahead_of_the_gateway_counts_as_no_wait() -> None:
    scope = scope_for(arrived("rest_v1", -3.0))
    assert turn_budget_s(scope, 25.0, now=lambda: NOW) == pytest.approx(25.0)


def test_outside_lambda_there_is_no_budget() -> None:
    assert turn_budget_s({"type": "http"}, 25.0) is None


@dataclass
class Case:
    shape: str
    stage: str
    expected: tuple[str, bool]


@pytest.mark.parametrize(
    "case",
    [
        Case("rest_v1", "prod", ("/prod", False)),  # path comes without the stage
        Case("rest_v1", "dev", ("/dev", False)),
        Case("http_v2", "prod", ("/prod", True)),  # the stage stays in the path
        Case("http_v2", "$default", ("", False)),
        Case("function_url", "$default", ("", False)),
    ],
)
def test_the_stage_prefix_per_event_shape(case: Case) -> None:
    event = build_event(case.shape, "GET", "/health", stage=case.stage)  # type: ignore[arg-type]
    assert stage_prefix(event) == case.expected


def test_only_a_whole_stage_segment_counts() -> None:
    products = build_event("http_v2", "GET", "/health", stage="prod")
    products["rawPath"] = products["requestContext"]["http"]["path"] = "/products"
    assert stage_prefix(products) == ("", False)
    root = build_event("rest_v1", "GET", "/", stage="prod")
    assert stage_prefix(root) == ("/prod", False)
