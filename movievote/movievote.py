"""The Reflex app: pages, the mounted JSON API, background tasks, wired; no logic lives here."""

import reflex as rx

from movievote import bootstrap
from movievote.api.app import mount_api
from movievote.pages.home import HomeState, home

app = rx.App(api_transformer=mount_api)
app.add_page(home, route="/", title="movievote", on_load=HomeState.load)
app.register_lifespan_task(bootstrap.run_background)
