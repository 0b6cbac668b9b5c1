"""The FastAPI app factory. All wiring happens before the app exists, so no ASGI lifespan is
needed (Mangum runs with lifespan off)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from agent.bootstrap import Services, build_services
from agent.settings import Settings, load_settings
from api.access import AccessMiddleware
from api.body_limit import BodyLimitMiddleware
from api.logs import configure_logging
from api.page import include_debate_page, load_debate_page
from api.problems import install_problem_handlers, problem
from api.request_context import RequestContextMiddleware
from api.routes import TAG, include_routes
from api.schemas import chat_request_model

_CORS_HEADERS = ["content-type", "idempotency-key", "x-api-key", "x-request-id", "last-event-id"]
_CORS_EXPOSED = ["x-request-id", "retry-after", "idempotent-replayed"]
# The docs page's script and style come from an installed package (fastapi-offline, MIT, which
# ships Swagger UI's build, Apache-2.0), not from a CDN: Kopichat needs no network.
_DOCS_ASSETS = files("fastapi_offline") / "static"
_DOCS_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}


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
        docs_url=None,  # served by include_offline_docs instead, without a CDN
        redoc_url=None,  # ReDoc loads its logo from a CDN: one docs page is enough
    )
    app.state.services = services
    install_problem_handlers(app)
    include_routes(app, chat_request_model(settings.max_message_chars), api_keys=api_keys)
    include_debate_page(app, load_debate_page(settings.max_message_chars))
    include_offline_docs(app)
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
    if services.tracing is not None:
        from api.tracing import trace_requests  # OpenTelemetry is imported only when on

        trace_requests(app, services.tracing)
    return app


def include_offline_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) with its assets served by this app. Under a stage prefix (Lambda
    behind API Gateway) every URL starts with the request's root_path."""
    assets = {name: (_DOCS_ASSETS / name).read_bytes() for name in _DOCS_ASSET_TYPES}
    no_favicon = "data:,"  # no request for one, and nothing to serve

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=no_favicon,
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in assets:
            return problem(404, "not_found", "Not Found")
        return Response(
            assets[name],
            media_type=_DOCS_ASSET_TYPES[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )


def app_from_environment(settings: Settings | None = None) -> FastAPI:
    """Build everything from the environment; raises ConfigError on a bad setting."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    return create_app(build_services(settings))
