"""The FastAPI app factory. All wiring happens before the app exists, so no ASGI lifespan is
needed (Mangum runs with lifespan off)."""

from __future__ import annotations

from fastapi import FastAPI

from agent.bootstrap import Services, build_services
from agent.settings import Settings, load_settings
from api.body_limit import BodyLimitMiddleware
from api.page import include_debate_page, load_debate_page
from api.problems import install_problem_handlers
from api.routes import include_routes
from api.schemas import chat_request_model


def create_app(services: Services) -> FastAPI:
    settings = services.settings
    app = FastAPI(
        title="Kopichat",
        version="1.0.0",
        description=(
            "A debate bot. The first message sets the topic and the side the bot takes; "
            "the bot argues that side for the whole conversation."
        ),
    )
    app.state.services = services
    install_problem_handlers(app)
    include_routes(app, chat_request_model(settings.max_message_chars))
    include_debate_page(app, load_debate_page(settings.max_message_chars))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app


def app_from_environment(settings: Settings | None = None) -> FastAPI:
    """Build everything from the environment; raises ConfigError on a bad setting."""
    return create_app(build_services(settings or load_settings()))
