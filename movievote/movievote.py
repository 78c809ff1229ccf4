"""The Reflex app: pages and background tasks, wired; no logic lives here."""

import reflex as rx

from movievote import bootstrap
from movievote.pages.home import HomeState, home

app = rx.App(theme=rx.theme(accent_color="amber", radius="large"))
app.add_page(home, route="/", title="movievote", on_load=HomeState.load)
app.register_lifespan_task(bootstrap.run_background)
