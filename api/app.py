"""The FastAPI app factory. All wiring happens before the app exists, so no ASGI lifespan is
needed (Mangum runs with lifespan off)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from agent.bootstrap import Services, build_services
from agent.settings import Settings, load_settings
from api.access import AccessMiddleware
from api.body_limit import BodyLimitMiddleware
from api.logs import configure_logging
from api.page import include_debate_page, load_debate_page
from api.problems import install_problem_handlers
from api.request_context import RequestContextMiddleware
from api.routes import TAG, include_routes
from api.schemas import chat_request_model

_CORS_HEADERS = ["content-type", "idempotency-key", "x-api-key", "x-request-id"]
_CORS_EXPOSED = ["x-request-id", "retry-after", "idempotent-replayed"]


def create_app(services: Services) -> FastAPI:
    settings = services.settings
    api_keys = bool(settings.api_key_hashes)
    app = FastAPI(
        title="Kopichat",
        version="1.1.0",
        description=(
            "A debate bot. The first message sets the topic and the side the bot takes; "
            "the bot argues that side for the whole conversation."
        ),
        openapi_tags=[{"name": TAG, "description": "The debate API."}],
    )
    app.state.services = services
    install_problem_handlers(app)
    include_routes(app, chat_request_model(settings.max_message_chars), api_keys=api_keys)
    include_debate_page(app, load_debate_page(settings.max_message_chars))
    # Added innermost first: a request meets them in the reverse order.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AccessMiddleware, key_hashes=settings.api_key_hashes, rate_limit=settings.rate_limit
    )
    if settings.cors_origin_list:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=_CORS_HEADERS,
            expose_headers=_CORS_EXPOSED,
            max_age=600,
        )
    app.add_middleware(
        RequestContextMiddleware,
        model=services.model_description,
        access_log=settings.access_log,
    )
    return app


def app_from_environment(settings: Settings | None = None) -> FastAPI:
    """Build everything from the environment; raises ConfigError on a bad setting."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    return create_app(build_services(settings))
