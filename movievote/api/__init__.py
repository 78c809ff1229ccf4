"""The JSON API for programs: FastAPI, mounted into the Reflex backend under /api."""
