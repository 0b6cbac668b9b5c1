"""The HTTP side of Kopichat: FastAPI app factory, routes, error mapping, the Lambda handler."""
