"""Reflex configuration; the database and environment come from movievote's Settings."""

import os

import reflex as rx

from movievote.api.origins import allowed_origins
from movievote.config import get_settings

settings = get_settings()
# Reflex makes (and serves at /_upload/) a folder for uploaded files once a page has an upload
# (the admin's catalogue file, which is read as it streams and never stored): in the data
# folder, not the project's root, where the development server would watch it
os.environ.setdefault("REFLEX_UPLOADED_FILES_DIR", str(settings.data_dir / "uploaded_files"))

# Without Redis (one worker), each browser's state lives in this process's memory. Reflex's
# default there keeps it on disk as well, and sweeps its folder every 2 s while states change:
# a listing and a stat of every file (several per open page), in a thread that shares the GIL
# with the event loop; with 2,000 live pages open that was 40% of a core doing nothing else
# (docs/performance.md, "Fan-out"). A restart loses nothing a page needs: a reconnecting page
# hydrates in full, with its browser storage (the session token), and loads again.
memory_state = {} if settings.reflex_redis_url else {"state_manager_mode": "memory"}

config = rx.Config(
    app_name="movievote",
    db_url=settings.sync_database_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # CORS grants for the API (Reflex's middleware): only these origins, never "*"; the
    # websocket's origins are checked by movievote.api.edges (the page's own always may)
    cors_allowed_origins=allowed_origins(settings),
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="amber", radius="large")),
    ],
    **memory_state,
)
