"""The catalogue's tools of `/admin`: edit a movie, search TMDB or OMDb and add from the hits,
import a catalogue file with a progress bar. A state mixin of `AdminState`: every handler asks
`_admin()` (the verified admin behind the browser, from the server's view of the session)
before it does anything; the rules and the audit rows are `services.curation`'s."""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from movievote.components.i18n import nt, t
from movievote.components.layout import focus_when_shown
from movievote.config import get_settings
from movievote.errors import N_, DomainError, InvalidInput
from movievote.i18n import gettext, localised, ngettext
from movievote.models import ExternalMovie, MovieDetails, MovieEdit, MovieText
from movievote.root import get_root
from movievote.services import admin, curation
from movievote.state import language_of

logger = logging.getLogger(__name__)
UPLOAD_ID = "catalogue-file"
PROBLEMS_SHOWN = 20
OVERVIEW_SHOWN = 160  # characters of a hit's overview in the list
TRANSLATED = curation.OTHER_LANGUAGES[0]  # the form's second language (pt-BR)


def _form_of(movie: MovieDetails) -> dict[str, str]:
    """A movie as the edit form shows it (every value a string)."""
    translated = movie.translations.get(TRANSLATED)
    return {
        "title": movie.title,
        "original_title": movie.original_title,
        "year": str(movie.year or ""),
        "overview": movie.overview,
        "poster_url": movie.poster_url or "",
        "genres": ", ".join(movie.genres),
        "title_translated": translated.title if translated else "",
        "overview_translated": translated.overview if translated else "",
        "source": f"{movie.source} {movie.external_id}",
    }


def _edit_of(form: dict[str, str]) -> MovieEdit:
    """The form's values as changes (ValueError for a year that is not a number)."""
    year = str(form.get("year") or "").strip()
    return MovieEdit(
        title=form.get("title", ""),
        original_title=form.get("original_title", ""),
        year=int(year) if year else None,
        overview=form.get("overview", ""),
        poster_url=form.get("poster_url", ""),
        genres=str(form.get("genres") or "").split(","),
        translations={
            TRANSLATED: MovieText(
                title=form.get("title_translated", ""),
                overview=form.get("overview_translated", ""),
            )
        },
    )


def _hit(hit: ExternalMovie) -> dict[str, Any]:
    overview = hit.overview
    if len(overview) > OVERVIEW_SHOWN:
        overview = overview[:OVERVIEW_SHOWN].rsplit(" ", 1)[0] + "…"
    return {
        "source": hit.source,
        "external_id": hit.external_id,
        "title": hit.title,
        "year": str(hit.year or ""),
        "overview": overview,
        # "in": the catalogue has it; "alike": a movie with its title and year; "new"
        "known": "in" if hit.movie_id else ("alike" if hit.lookalike_id else "new"),
    }


async def _received(chunks: Any, limit: int) -> tuple[str, bytes]:
    """The first uploaded file's name and bytes (InvalidInput past `limit`: reading stops)."""
    name, data = "", bytearray()
    async for chunk in chunks:
        if name and chunk.filename != name:
            continue  # one file at a time: others are read and dropped
        name = name or chunk.filename
        data += chunk.data
        if len(data) > limit:
            raise InvalidInput(
                N_("The file is over the limit of {count} bytes."), field="file", count=limit
            )
    return name, bytes(data)


class CatalogueTools(rx.State, mixin=True):
    """Edit a movie, search and add, import a file (mixed into AdminState)."""

    editing: int = 0  # the id of the movie in the edit form; 0: none
    edit_form: dict[str, str] = {}
    edit_version: int = 0  # a new form (React key) for each movie opened or saved
    search_sources: list[str] = []
    search_hits: list[dict[str, Any]] = []
    searched: bool = False
    import_busy: bool = False
    import_name: str = ""
    import_done: int = 0
    import_total: int = 0
    import_summary: str = ""
    import_problems: list[str] = []
    import_error: str = ""

    @rx.var
    def import_percent(self) -> int:
        return round(100 * self.import_done / self.import_total) if self.import_total else 0

    def _forget_catalogue_tools(self) -> None:
        self.editing, self.edit_form = 0, {}
        self.search_sources, self.search_hits, self.searched = [], [], False
        self.import_summary, self.import_problems, self.import_error = "", [], ""

    def _show(self, movie: MovieDetails) -> None:
        self.editing = movie.id
        self.edit_form = _form_of(movie)
        self.edit_version += 1

    @rx.event
    async def edit(self, movie_id: int):  # type: ignore[no-untyped-def]
        """Open a movie in the edit form, the keyboard's focus in its first field (the form is
        below the tables: without it a keyboard user would Tab through every row to get
        there)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return None
        auth, _user = found
        try:
            self._show(await curation.get_movie(movie_id=int(movie_id), db=get_root().db))
        except (TypeError, ValueError):
            self.error = await auth._say(N_("Choose a movie first."))
            return None
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return None
        return focus_when_shown(f'#movie-editor[data-version="{self.edit_version}"] #edit-title')

    @rx.event
    async def close_editor(self):  # type: ignore[no-untyped-def]
        """Close the edit form; the focus goes back to the Edit button that opened it."""
        if await self._admin() is None:
            return None
        movie, self.editing, self.edit_form = self.editing, 0, {}
        return focus_when_shown(f'.edit-movie[data-movie="{movie}"]')

    @rx.event
    async def save_movie(self, form: dict[str, str]) -> None:
        """Save the edit form's values (audited; a form that changes nothing records nothing)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None or not self.editing:
            return
        auth, user = found
        try:
            changes = _edit_of(form)
        except ValueError:
            self.error = await auth._say(N_("The year must be a number, or left empty."))
            return
        try:
            movie = await curation.edit_movie(
                movie_id=self.editing,
                changes=changes,
                actor=admin.Actor(user.id, user.email),
                db=get_root().db,
            )
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return
        self._show(movie)
        self.message = await auth._say(N_("{title} is saved."), title=movie.title)
        await self._read()

    @rx.event
    async def search_catalogues(self, form: dict[str, str]) -> None:
        """Search an external catalogue (TMDB, OMDb) by title."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, _user = found
        sources = curation.search_sources(get_root().settings)
        source = form.get("source") or (sources[0] if sources else "tmdb")
        try:
            result = await curation.search_external(
                source=source,
                query=form.get("q", ""),
                settings=get_root().settings,
                http=get_root().http,
                db=get_root().db,
            )
        except DomainError as exc:
            self.error = await auth._explain(exc)
            self.search_hits, self.searched = [], False
            return
        self.search_hits = [_hit(hit) for hit in result.items]
        self.searched = True

    @rx.event
    async def add_movie(self, source: str, external_id: str) -> None:
        """Add a hit to the catalogue (fetched in full from its source; audited)."""
        self.message = self.error = ""
        found = await self._admin()
        if found is None:
            return
        auth, user = found
        try:
            added = await curation.add_external(
                source=str(source),
                external_id=str(external_id),
                actor=admin.Actor(user.id, user.email),
                settings=get_root().settings,
                http=get_root().http,
                db=get_root().db,
            )
        except DomainError as exc:
            self.error = await auth._explain(exc)
            return
        self.message = await auth._say(
            N_("{title} is in the catalogue.")
            if added.created
            else N_("{title} was in the catalogue already: it is refreshed from its source."),
            title=added.title,
        )
        self.search_hits = [
            {**hit, "known": "in"}
            if (hit["source"], hit["external_id"]) == (source, external_id)
            else hit
            for hit in self.search_hits
        ]
        await self._read()

    @rx.event
    async def refuse_file(self, rejected: list[dict[str, Any]]) -> None:
        """The file chooser turned a file down (too large, not JSON, more than one)."""
        found = await self._admin()
        if found is None:
            return
        auth, _user = found
        self.import_summary, self.import_problems = "", []
        self.import_error = await auth._say(
            N_("Choose one JSON file of at most {count} bytes."),
            count=get_root().settings.max_upload_bytes,
        )

    @rx.event(background=True)
    async def import_file(self, chunks: rx.UploadChunkIterator):  # type: ignore[no-untyped-def]
        """Import the uploaded catalogue file in the background: the progress bar follows each
        batch, and a summary (added, updated, skipped, and why) ends it. Nothing of the
        upload is read for anyone but an admin."""
        async with self:
            found = await self._admin()
            if found is None:
                return None
            _auth, user = found
            language = await language_of(self)
            if self.import_busy:
                self.import_error = gettext(language, N_("An import is running already."))
                return None
            self.import_busy = True
            self.import_name, self.import_done, self.import_total = "", 0, 0
            self.import_summary, self.import_problems, self.import_error = "", [], ""
        actor = admin.Actor(user.id, user.email)
        outcome: dict[str, Any] = {}
        try:
            outcome = await self._import(chunks, actor=actor, language=language)
        except DomainError as exc:
            outcome = {"import_error": localised(exc, language)}
        except Exception:
            logger.exception("catalogue import failed")
            outcome = {
                "import_error": gettext(
                    language,
                    N_("The import stopped before its end (what it imported stays). Try again."),
                )
            }
        finally:
            async with self:
                for name, value in outcome.items():
                    setattr(self, name, value)
                self.import_busy = False
                if await self._admin() is not None:
                    await self._read()
        return rx.clear_selected_files(UPLOAD_ID)

    async def _import(self, chunks: Any, *, actor: admin.Actor, language: str) -> dict[str, Any]:
        """Read, parse (in a thread) and import the file; the vars that show the outcome."""
        settings = get_root().settings
        name, data = await _received(chunks, settings.max_upload_bytes)
        if not name:
            return {"import_error": gettext(language, N_("Choose a catalogue file first."))}
        parsed = await curation.read_catalogue_file(data, name=name, settings=settings)
        async with self:
            self.import_name, self.import_total = parsed.name, len(parsed.movies)

        async def progress(done: int, total: int) -> None:
            async with self:
                self.import_done, self.import_total = done, total

        report = await curation.import_movies(
            parsed, actor=actor, on_progress=progress, db=get_root().db
        )
        problems = [localised(p.error, language) for p in report.problems[:PROBLEMS_SHOWN]]
        if len(report.problems) > PROBLEMS_SHOWN:
            more = len(report.problems) - PROBLEMS_SHOWN
            problems.append(ngettext(language, "… and {n} more.", "… and {n} more.", more))
        return {
            "import_summary": gettext(
                language,
                N_(
                    "Import of {file} finished: added {added}, updated {updated}, "
                    "skipped {skipped}."
                ),
                file=report.file,
                added=report.added,
                updated=report.updated,
                skipped=report.skipped,
            ),
            "import_problems": problems,
        }


def _field(label: rx.Var, name: str, state: type[rx.State], **props: Any) -> rx.Component:
    control = rx.text_area if props.pop("multiline", False) else rx.input
    return rx.vstack(
        rx.el.label(label, html_for=f"edit-{name}", style={"font_weight": "500"}),
        control(
            id=f"edit-{name}",
            name=name,
            default_value=state.edit_form[name],
            width="100%",
            **props,
        ),
        spacing="1",
        width="100%",
    )


def editor(state: type[rx.State]) -> rx.Component:
    """The edit form of the movie opened with its Edit button."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.heading(t("Edit a movie"), size="4", as_="h3"),
                    rx.spacer(),
                    rx.text(state.edit_form["source"], size="1", color_scheme="gray"),
                    width="100%",
                    align="center",
                ),
                rx.grid(
                    _field(t("Title"), "title", state, required=True, max_length=300),
                    _field(t("Original title"), "original_title", state, max_length=300),
                    _field(
                        t("Title in Portuguese (Brazil)"),
                        "title_translated",
                        state,
                        max_length=300,
                    ),
                    _field(t("Year"), "year", state, type="number", min=1870, max=2100),
                    _field(
                        t("Poster address (https://…)"),
                        "poster_url",
                        state,
                        type="url",
                        max_length=500,
                    ),
                    _field(
                        t("Genres, separated by commas (in English)"),
                        "genres",
                        state,
                        max_length=700,
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                _field(t("Overview"), "overview", state, multiline=True, rows="4"),
                _field(
                    t("Overview in Portuguese (Brazil)"),
                    "overview_translated",
                    state,
                    multiline=True,
                    rows="4",
                ),
                rx.text(
                    t(
                        "An empty Portuguese title shows the English texts; an empty "
                        "Portuguese overview takes the English one."
                    ),
                    size="1",
                    color_scheme="gray",
                ),
                rx.hstack(
                    rx.button(t("Save"), type="submit", size="2"),
                    rx.button(
                        t("Close"),
                        type="button",
                        on_click=state.close_editor,
                        size="2",
                        variant="soft",
                        color_scheme="gray",
                        id="movie-editor-close",
                    ),
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=state.save_movie,
            key=state.edit_version,
            id="movie-editor",
            custom_attrs={
                "data-version": state.edit_version,
                # Escape closes it as Close does (in the browser: no event per key sent)
                "onKeyDown": rx.Var(
                    "((e) => { if (e.key === 'Escape') "
                    "document.getElementById('movie-editor-close')?.click(); })"
                ),
            },
        ),
        width="100%",
    )


def _hit_row(state: type[rx.State], hit: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(hit["title"], weight="medium"),
                rx.text(hit["overview"], size="1", color_scheme="gray"),
                spacing="1",
            )
        ),
        rx.table.cell(hit["year"]),
        rx.table.cell(
            rx.match(
                hit["known"],
                ("in", rx.badge(t("In the catalogue"), color_scheme="green")),
                (
                    "alike",
                    rx.badge(t("Same title and year in the catalogue"), color_scheme="amber"),
                ),
                rx.fragment(),
            )
        ),
        rx.table.cell(
            rx.button(
                rx.cond(hit["known"] == "in", t("Refresh"), t("Add")),
                on_click=state.add_movie(hit["source"], hit["external_id"]),
                size="1",
                variant="soft",
            )
        ),
        class_name="hit-row",
    )


def _search(state: type[rx.State], table: Any) -> rx.Component:
    return rx.vstack(
        rx.heading(t("Add from TMDB or OMDb"), size="4", as_="h3"),
        rx.cond(
            state.search_sources.length() > 0,
            rx.vstack(
                rx.form(
                    rx.hstack(
                        rx.select(
                            state.search_sources,
                            name="source",
                            default_value=state.search_sources[0],
                            aria_label=t("Catalogue to search"),
                            size="2",
                        ),
                        rx.input(
                            name="q",
                            placeholder=t("A title to search for"),
                            aria_label=t("A title to search for"),
                            required=True,
                            max_length=200,
                            type="search",
                            size="2",
                            width="100%",
                            max_width="24em",
                        ),
                        rx.button(t("Search"), type="submit", size="2"),
                        spacing="2",
                        width="100%",
                        wrap="wrap",
                    ),
                    on_submit=state.search_catalogues,
                    width="100%",
                ),
                rx.cond(
                    state.search_hits.length() > 0,
                    table(
                        [t("Title"), t("Year"), t("Status"), t("Action")],
                        rx.foreach(state.search_hits, lambda hit: _hit_row(state, hit)),
                        name=t("Search results"),
                    ),
                    rx.cond(state.searched, rx.text(t("Nothing found."), size="2")),
                ),
                width="100%",
                spacing="3",
            ),
            rx.callout(
                t(
                    "Search is not configured: set TMDB_API_KEY or OMDB_API_KEY on the server "
                    "to add movies from TMDB or OMDb."
                ),
                icon="info",
                color_scheme="gray",
                id="search-not-configured",
            ),
        ),
        width="100%",
        spacing="3",
    )


def _named_file_input(upload: rx.Component, name: rx.Var) -> rx.Component:
    """`rx.upload` with a name on its file input (react-dropzone's input, which `rx.upload`
    makes itself and gives no props: its first child's first child)."""
    file_input = upload.children[0].children[0]
    assert file_input.tag == "input", file_input
    file_input.custom_attrs["aria-label"] = name
    return upload


def _import(state: type[rx.State], max_bytes: int) -> rx.Component:
    return rx.vstack(
        rx.heading(t("Import a catalogue file"), size="4", as_="h3"),
        rx.text(
            t(
                "A JSON file in TMDB's format, as `movievote import --file` takes: movies "
                "already imported from the same source are updated, never doubled."
            ),
            size="2",
            color_scheme="gray",
        ),
        _named_file_input(
            rx.upload(
                rx.vstack(
                    rx.button(
                        rx.icon("file_up", size=16),
                        t("Choose a file"),
                        type="button",
                        variant="soft",
                        size="2",
                    ),
                    rx.text(t("or drop it here"), size="1", color_scheme="gray"),
                    rx.foreach(
                        rx.selected_files(UPLOAD_ID),
                        lambda name: rx.text(name, size="2", weight="medium"),
                    ),
                    align="center",
                    spacing="2",
                ),
                id=UPLOAD_ID,
                accept={"application/json": [".json"]},
                max_files=1,
                multiple=False,
                max_size=max_bytes,
                on_drop_rejected=state.refuse_file,
                border="1px dashed var(--gray-a7)",
                border_radius="var(--radius-3)",
                padding="1em",
                width="100%",
            ),
            t("Catalogue file"),
        ),
        rx.button(
            rx.icon("upload", size=16),
            t("Import"),
            on_click=state.import_file(rx.upload_files_chunk(upload_id=UPLOAD_ID)),
            loading=state.import_busy,
            size="2",
            id="import-button",
        ),
        rx.cond(
            state.import_busy | (state.import_total > 0),
            rx.vstack(
                rx.progress(value=state.import_percent, max=100, width="100%"),
                rx.text(
                    nt(
                        "{done} of {n} movie imported",
                        "{done} of {n} movies imported",
                        state.import_total,
                        done=state.import_done.to(str),
                    ),
                    size="2",
                    id="import-progress",
                ),
                width="100%",
                spacing="1",
            ),
        ),
        rx.cond(
            state.import_summary != "",
            rx.callout(
                state.import_summary,
                icon="circle_check",
                color_scheme="green",
                role="status",
                id="import-summary",
            ),
        ),
        rx.cond(
            state.import_error != "",
            rx.callout(
                state.import_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                id="import-error",
            ),
        ),
        rx.cond(
            state.import_problems.length() > 0,
            rx.el.ul(
                rx.foreach(state.import_problems, lambda text: rx.el.li(text)),
                id="import-problems",
                style={"font_size": "var(--font-size-1)", "padding_left": "1.2em"},
            ),
        ),
        width="100%",
        spacing="3",
    )


def catalogue_tools(state: type[rx.State], table: Any) -> rx.Component:
    """The edit form (when a movie is open), the external search, the file import."""
    return rx.vstack(
        rx.cond(state.editing != 0, editor(state)),
        _search(state, table),
        _import(state, get_settings().max_upload_bytes),
        width="100%",
        spacing="5",
    )
