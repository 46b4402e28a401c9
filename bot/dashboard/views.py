"""The dashboard's pages and actions on the feeds' aiohttp server (see bot/dashboard/auth.py).

Every page is rendered on the server (Jinja2, autoescaped) and works without JavaScript.
Texts are translated here, in Python, so `make catalogues` extracts them; the templates only
lay them out. Each action answers, on the page it returns to, with what changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.calendar.feeds import base_url_for
from bot.clock import Clock, SystemClock
from bot.dashboard import actions, auth, queries
from bot.dashboard.timeline import kind_name, timeline_svg
from bot.i18n import (
    LANGUAGES,
    format_date,
    format_datetime,
    format_list,
    gettext,
    ngettext,
    reply_language,
)
from bot.services import Services

COOKIE = "coordbot_session"
PREFIX = "/dashboard"
HERE = Path(__file__).parent
Handler = Callable[[web.Request, auth.SessionView], Awaitable[web.StreamResponse]]
LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål", "nn": "Norsk nynorsk"}


def login_url(services: Services, token: str) -> str:
    """The URL of a login link: the running server's address, else calendar.public_base_url
    or calendar.listen."""
    base = services.calendar_base_url or base_url_for(services.config.calendar)
    return f"{base.rstrip('/')}{PREFIX}/login?token={quote(token)}"


def add_dashboard_routes(
    app: web.Application, services: Services, auth_clock: Clock | None = None
) -> None:
    """Mount the dashboard under /dashboard on the web server's application."""
    Dashboard(services, auth_clock).add_routes(app)


class Dashboard:
    """The dashboard's request handlers. Login links and sessions expire on `auth_clock`,
    the wall clock by default: a fixed bot.now (demos) must not make a link last forever."""

    def __init__(self, services: Services, auth_clock: Clock | None = None) -> None:
        self._services = services
        self._auth_clock = auth_clock or SystemClock()
        self._env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._css = (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")

    def add_routes(self, app: web.Application) -> None:
        """Register every route; the catch-all last, so guessed URLs get the login page."""
        r = app.router
        r.add_get(PREFIX, self._guard(self.overview))
        r.add_get(PREFIX + "/", self._guard(self.overview))
        r.add_get(PREFIX + "/timeline", self._guard(self.timeline))
        r.add_get(PREFIX + "/deadlines", self._guard(self.deadlines))
        r.add_get(PREFIX + "/meetings", self._guard(self.meetings))
        r.add_get(PREFIX + "/broadcasts", self._guard(self.broadcasts))
        r.add_get(PREFIX + "/registry", self._guard(self.registry))
        r.add_post(PREFIX + "/deadlines/mark", self._guard(self.mark, form=True))
        r.add_post(PREFIX + "/meetings/invite", self._guard(self.invite, form=True))
        r.add_post(PREFIX + "/broadcasts/retry", self._guard(self.retry, form=True))
        r.add_post(PREFIX + "/logout", self._guard(self.logout, form=True))
        r.add_get(PREFIX + "/login", self.login_page)
        r.add_post(PREFIX + "/login", self.login)
        r.add_route("*", PREFIX + "/{tail:.*}", self._guard(self.not_found))

    # --- plumbing ------------------------------------------------------------------------

    def _guard(self, handler: Handler, *, form: bool = False) -> Callable[..., Any]:
        """Only a valid session gets through; anyone else gets the login page (401). A form
        must carry the session's CSRF token."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            services = self._services
            session_id = request.cookies.get(COOKIE, "")
            view = await asyncio.to_thread(
                auth.find_session, services.db, services.config, session_id, self._now()
            )
            if view is None:
                return self._login_response(request, status=401)
            if form:
                data = await request.post()
                if not auth.csrf_ok(view, str(data.get("csrf", ""))):
                    return self._render(
                        "message.html",
                        request,
                        view,
                        view.lang,
                        title=gettext(view.lang, "The form has expired"),
                        text=gettext(
                            view.lang,
                            "Nothing was changed: the form was too old or did not come from this page. Go back, reload the page and try again.",
                        ),
                        status=403,
                    )
            wanted = request.query.get("lang")
            if wanted in LANGUAGES and wanted != view.lang:
                await asyncio.to_thread(auth.update_session, services.db, view.id, lang=wanted)
                view = auth.SessionView(view.id, view.holder, view.csrf, wanted, view.notice)
            return await handler(request, view)

        return guarded

    def _render(
        self,
        template: str,
        request: web.Request,
        view: auth.SessionView | None,
        lang: str,
        *,
        title: str,
        status: int = 200,
        notice: str | None = None,
        **context: Any,
    ) -> web.Response:
        path = request.path
        pages = [
            (PREFIX, gettext(lang, "Overview")),
            (PREFIX + "/timeline", gettext(lang, "Timeline")),
            (PREFIX + "/deadlines", gettext(lang, "Deadlines")),
            (PREFIX + "/meetings", gettext(lang, "Meetings")),
            (PREFIX + "/broadcasts", gettext(lang, "Broadcasts and outbox")),
            (PREFIX + "/registry", gettext(lang, "Registry")),
        ]
        nav = [(href, label, path.rstrip("/") == href) for href, label in pages] if view else []
        # The token stays: switching language on the login page must not lose the link.
        query = {k: v for k, v in request.query.items() if k != "lang"}
        languages = [
            (
                code,
                LANGUAGE_NAMES[code],
                f"{path}?{urlencode({**query, 'lang': code})}",
                code == lang,
            )
            for code in LANGUAGES
        ]
        html = self._env.get_template(template).render(
            lang=lang,
            title=title,
            nav=nav,
            languages=languages,
            notice=notice,
            csrf=view.csrf if view else "",
            back=request.path_qs,
            css=self._css,
            t={
                "app": gettext(lang, "coordbot dashboard"),
                "skip": gettext(lang, "Skip to content"),
                "nav": gettext(lang, "Pages"),
                "language": gettext(lang, "Language"),
                "logout": gettext(lang, "Log out"),
                "who": _holder_text(view.holder, lang) if view else "",
            },
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    async def _page(
        self, template: str, request: web.Request, view: auth.SessionView, **context: Any
    ) -> web.Response:
        """Render a page for a logged-in coordinator, showing (once) what the last action did."""
        notice = view.notice
        if notice:
            await asyncio.to_thread(auth.update_session, self._services.db, view.id, notice=None)
        return self._render(template, request, view, view.lang, notice=notice, **context)

    async def _answer(
        self, request: web.Request, view: auth.SessionView, text: str
    ) -> web.Response:
        """After an action: keep what changed for the next page and go back (POST/redirect/GET)."""
        await asyncio.to_thread(auth.update_session, self._services.db, view.id, notice=text)
        data = await request.post()
        back = str(data.get("back", "")) or PREFIX
        # Only ever back into the dashboard (never an open redirect).
        if not back.startswith(PREFIX) or back.startswith("//"):
            back = PREFIX
        raise web.HTTPSeeOther(back)

    def _login_response(
        self, request: web.Request, *, status: int, problem: str | None = None
    ) -> web.Response:
        lang = reply_language(
            request.query.get("lang"), reply_language(self._services.config.bot.default_language)
        )
        return self._render(
            "login.html",
            request,
            None,
            lang,
            title=gettext(lang, "Log in to the coordinators' dashboard"),
            status=status,
            problem=problem,
            token=None,
            text=_login_texts(lang),
        )

    def _now(self) -> datetime:
        """Now for login links and sessions (not the programme's clock)."""
        return self._auth_clock.now()

    def _when(self, value: datetime, lang: str) -> str:
        return format_datetime(value, lang, "short", self._services.zone)

    # --- login and logout -----------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        """GET /dashboard/login?token=...: a button that uses the link (a link preview or a
        mail scanner fetching the URL must not use it up)."""
        token = request.query.get("token", "")
        services = self._services
        if not token:
            return self._login_response(request, status=200)
        usable = await asyncio.to_thread(
            auth.link_is_usable, services.db, services.config, token, self._now()
        )
        if not usable:
            return self._login_response(request, status=403, problem=_expired(request))
        lang = reply_language(
            request.query.get("lang"), reply_language(services.config.bot.default_language)
        )
        return self._render(
            "login.html",
            request,
            None,
            lang,
            title=gettext(lang, "Log in to the coordinators' dashboard"),
            token=token,
            problem=None,
            text=_login_texts(lang),
        )

    async def login(self, request: web.Request) -> web.StreamResponse:
        """POST /dashboard/login: use the one-time link, open a session, set the cookie."""
        services = self._services
        data = await request.post()
        token = str(data.get("token", ""))
        session_id = (
            await asyncio.to_thread(
                auth.redeem_link, services.db, services.config, token, self._now()
            )
            if token
            else None
        )
        if session_id is None:
            return self._login_response(request, status=403, problem=_expired(request))
        response = web.Response(status=303, headers={"Location": PREFIX})
        response.set_cookie(
            COOKIE,
            session_id,
            path=PREFIX,
            httponly=True,
            samesite="Lax",
            secure=_https(request),
            max_age=auth.SESSION_HOURS * 3600,
        )
        return response

    async def logout(self, request: web.Request, view: auth.SessionView) -> web.StreamResponse:
        """POST /dashboard/logout: end the session here and now."""
        await asyncio.to_thread(auth.end_session, self._services.db, view.id, self._now())
        response = self._login_response(request, status=200)
        response.text = (response.text or "").replace(
            "<!--notice-->",
            '<div role="status" class="notice">'
            + _escape(gettext(view.lang, "You are logged out."))
            + "</div>",
        )
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    async def not_found(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """A logged-in coordinator asked for a page that does not exist."""
        lang = view.lang
        return self._render(
            "message.html",
            request,
            view,
            lang,
            title=gettext(lang, "No such page"),
            text=gettext(lang, "There is no page at this address. Use the menu above."),
            status=404,
        )

    # --- pages ----------------------------------------------------------------------------

    async def overview(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """The programme at a glance."""
        lang, services = view.lang, self._services
        data = await asyncio.to_thread(queries.overview, services, services.clock.now())
        deadlines = [
            {
                "title": d.event.title(lang),
                "date": format_date(d.event.start_date, lang),
                "progress": (d.delivered, len(d.rows)),
                "summary": gettext(
                    lang,
                    "{done} of {total} municipalities have delivered",
                    done=d.delivered,
                    total=len(d.rows),
                ),
                "missing": ", ".join(m.name for m in d.missing),
                "href": f"{PREFIX}/deadlines#{d.event.key}",
            }
            for d in data.deadlines
        ]
        meetings = [
            {
                "title": e.title(lang),
                "date": format_date(e.start_date, lang),
                "location": e.location or "",
                "href": f"{PREFIX}/meetings#{e.key}",
            }
            for e in data.meetings
        ]
        counts = data.outbox
        failed = counts.get("failed", 0)
        held = counts.get("held", 0)
        pending = counts.get("pending", 0) + counts.get("sending", 0)
        return await self._page(
            "overview.html",
            request,
            view,
            title=gettext(lang, "Overview"),
            deadlines=deadlines,
            meetings=meetings,
            texts={
                "deadlines": gettext(lang, "Next deadlines"),
                "meetings": gettext(lang, "Next meetings"),
                "messages": gettext(lang, "Messages"),
                "quality": gettext(lang, "Registry data quality"),
                "not_yet": gettext(lang, "Not delivered yet:"),
                "no_deadlines": gettext(lang, "No deadlines ahead."),
                "no_meetings": gettext(lang, "No meetings ahead."),
                "who_comes": gettext(lang, "Who is coming?"),
                "failed": ngettext(lang, "{n} failed", "{n} failed", failed),
                "held": ngettext(lang, "{n} held", "{n} held", held),
                "pending": ngettext(
                    lang, "{n} waiting to be sent", "{n} waiting to be sent", pending
                ),
                "sent": ngettext(lang, "{n} sent", "{n} sent", counts.get("sent", 0)),
                "to_broadcasts": gettext(lang, "See broadcasts and the outbox"),
                "errors": ngettext(lang, "{n} error", "{n} errors", data.errors),
                "warnings": ngettext(lang, "{n} warning", "{n} warnings", data.warnings),
                "to_registry": gettext(lang, "See the findings"),
            },
            failed=failed,
            errors=data.errors,
        )

    async def timeline(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """The programme's items past and ahead."""
        lang, services = view.lang, self._services
        snapshot = await asyncio.to_thread(services.registry.snapshot)
        today = services.clock.now().astimezone(services.zone).date()
        events = sorted(
            (e for e in snapshot.events if not e.cancelled), key=lambda e: (e.start_date, e.key)
        )
        rows = [
            {
                "date": format_date(e.start_date, lang),
                "kind": kind_name(e.kind, lang),
                "title": e.title(lang),
                "past": e.end_date < today,
            }
            for e in events
        ]
        return await self._page(
            "timeline.html",
            request,
            view,
            title=gettext(lang, "Timeline"),
            svg=timeline_svg(events, today, lang),
            rows=rows,
            texts={
                "as_list": gettext(lang, "The same as a list"),
                "date": gettext(lang, "Date"),
                "kind": gettext(lang, "Kind"),
                "item": gettext(lang, "Item"),
                "past": gettext(lang, "past"),
            },
        )

    async def deadlines(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """Per deadline: who has delivered, who not, marked by whom and when."""
        lang, services = view.lang, self._services

        def read() -> list[dict[str, Any]]:
            snapshot = services.registry.snapshot()
            out = []
            for d in queries.deadline_views(snapshot, services.db):
                rows = []
                for row in d.rows:
                    mark = row.mark
                    rows.append(
                        {
                            "key": row.municipality.key,
                            "name": row.municipality.name,
                            "done": mark is not None,
                            "marked": gettext(
                                lang,
                                "marked by {who}, {when}",
                                who=_marker_text(services, mark.by, lang),
                                when=self._when(mark.at, lang),
                            )
                            if mark
                            else "",
                        }
                    )
                out.append(
                    {
                        "key": d.event.key,
                        "title": d.event.title(lang),
                        "date": format_date(d.event.start_date, lang),
                        "done": d.delivered,
                        "total": len(d.rows),
                        "summary": gettext(
                            lang,
                            "{done} of {total} municipalities have delivered",
                            done=d.delivered,
                            total=len(d.rows),
                        ),
                        "missing": ", ".join(m.name for m in d.missing),
                        "rows": rows,
                    }
                )
            return out

        items = await asyncio.to_thread(read)
        return await self._page(
            "deadlines.html",
            request,
            view,
            title=gettext(lang, "Deadlines"),
            deadlines=items,
            texts={
                "not_yet": gettext(lang, "Not delivered yet:"),
                "all_done": gettext(lang, "Every municipality has delivered."),
                "municipality": gettext(lang, "Municipality"),
                "status": gettext(lang, "Delivered?"),
                "action": gettext(lang, "Action"),
                "yes": gettext(lang, "Delivered"),
                "no": gettext(lang, "Not delivered"),
                "mark": gettext(lang, "Mark delivered"),
                "undo": gettext(lang, "Undo"),
                "none": gettext(lang, "There are no deadlines in the registry."),
                "explain": gettext(
                    lang,
                    "A municipality marked as delivered gets no more reminders for that deadline; undo brings them back.",
                ),
            },
        )

    async def meetings(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """Per meeting: who is invited and what they answered; send or resend invites."""
        lang, services = view.lang, self._services
        answers = {
            "ACCEPTED": gettext(lang, "Accepted"),
            "DECLINED": gettext(lang, "Declined"),
            "TENTATIVE": gettext(lang, "Tentative"),
            "DELEGATED": gettext(lang, "Delegated"),
            "NEEDS-ACTION": gettext(lang, "No answer yet"),
        }

        def read() -> list[dict[str, Any]]:
            snapshot = services.registry.snapshot()
            out = []
            for m in queries.meeting_views(snapshot, services.db):
                counts = ", ".join(f"{answers[p]}: {m.count(p)}" for p in queries.PARTSTATS)
                out.append(
                    {
                        "key": m.event.key,
                        "title": m.event.title(lang),
                        "date": format_date(m.event.start_date, lang),
                        "location": m.event.location or "",
                        "cancelled": m.event.cancelled,
                        "invited": ngettext(lang, "{n} invited", "{n} invited", len(m.attendance)),
                        "counts": counts,
                        "rows": [
                            {
                                "name": a.name,
                                "from": _where_from(snapshot, a.email),
                                "email": a.email,
                                "answer": answers.get(a.partstat, a.partstat),
                                "partstat": a.partstat,
                                "comment": a.comment,
                            }
                            for a in m.attendance
                        ],
                        "not_invited": ", ".join(p.name for p in m.not_invited),
                        "not_invited_n": len(m.not_invited),
                        "without": ", ".join(p.name for p in m.without_address),
                        "failed": [f"{name}: {reason}" for name, reason in m.failed],
                        "empty": not (m.attendance or m.not_invited or m.without_address),
                        "audiences": format_list(
                            [
                                snapshot.audience_by_key[a].name(lang)
                                for a in m.event.audiences
                                if a in snapshot.audience_by_key
                            ],
                            lang,
                        ),
                    }
                )
            return out

        items = await asyncio.to_thread(read)
        return await self._page(
            "meetings.html",
            request,
            view,
            title=gettext(lang, "Meetings"),
            meetings=items,
            texts={
                "name": gettext(lang, "Name"),
                "email": gettext(lang, "E-mail"),
                "from": gettext(lang, "From"),
                "answer": gettext(lang, "Answer"),
                "comment": gettext(lang, "Comment"),
                "nobody": gettext(lang, "No invites have been sent for this meeting yet."),
                "empty": gettext(
                    lang, "Nobody in the registry belongs to this meeting's audience yet:"
                ),
                "not_invited": gettext(lang, "Not invited yet:"),
                "without": gettext(lang, "No e-mail address, cannot be invited:"),
                "failed": gettext(lang, "The invite could not be delivered to:"),
                "send": gettext(lang, "Send invites"),
                "resend": gettext(lang, "Send invites to those who have not got one"),
                "cancelled": gettext(lang, "Cancelled"),
                "where": gettext(lang, "Where:"),
                "none": gettext(lang, "There are no meetings in the registry."),
            },
        )

    async def broadcasts(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """Each broadcast with its report; retry the failed messages."""
        lang, services = view.lang, self._services

        def read() -> tuple[list[dict[str, Any]], dict[str, int]]:
            snapshot = services.registry.snapshot()
            out = []
            for b in queries.broadcast_views(services):
                audience = snapshot.audience_by_key.get(b.audience)
                report = b.report
                lines: list[tuple[str, str, str, str]] = []
                if report is not None:
                    for label, items in (
                        (gettext(lang, "Failed"), report.failed),
                        (gettext(lang, "Unreachable"), report.unreachable),
                        (gettext(lang, "Unsubscribed"), report.unsubscribed),
                        (gettext(lang, "Cancelled"), report.cancelled),
                    ):
                        lines += [(label, i.name, i.channel, i.reason) for i in items]
                lines += [(gettext(lang, "Held"), n, c, r) for n, c, r in b.held]
                out.append(
                    {
                        "id": b.id,
                        "subject": b.subject,
                        "audience": audience.name(lang) if audience else b.audience,
                        "when": self._when(b.created_at, lang),
                        "status": b.status,
                        "summary": (
                            gettext(
                                lang,
                                "{sent} sent, {failed} failed, {unreachable} unreachable, {unsubscribed} unsubscribed, {held} held, {pending} waiting",
                                sent=report.sent,
                                failed=len(report.failed),
                                unreachable=len(report.unreachable),
                                unsubscribed=len(report.unsubscribed),
                                held=len(b.held),
                                pending=report.pending,
                            )
                            if report
                            else gettext(lang, "Draft: not sent")
                            if b.status == "draft"
                            else gettext(lang, "Cancelled: nothing was sent")
                        ),
                        "lines": lines,
                        "can_retry": bool(report and report.failed),
                    }
                )
            return out, queries.outbox_counts(services.db)

        items, counts = await asyncio.to_thread(read)
        statuses = [
            (
                gettext(lang, "Waiting to be sent"),
                counts.get("pending", 0) + counts.get("sending", 0),
            ),
            (gettext(lang, "Held"), counts.get("held", 0)),
            (gettext(lang, "Sent"), counts.get("sent", 0)),
            (gettext(lang, "Failed"), counts.get("failed", 0)),
            (gettext(lang, "Cancelled"), counts.get("cancelled", 0)),
        ]
        return await self._page(
            "broadcasts.html",
            request,
            view,
            title=gettext(lang, "Broadcasts and outbox"),
            broadcasts=items,
            statuses=statuses,
            texts={
                "outbox": gettext(lang, "Outbox (every message: reminders, broadcasts, invites)"),
                "status": gettext(lang, "Status"),
                "count": gettext(lang, "Messages"),
                "broadcasts": gettext(lang, "Broadcasts"),
                "none": gettext(
                    lang,
                    "No broadcasts yet. Send one with /broadcast in Telegram or coordbot broadcast.",
                ),
                "outcome": gettext(lang, "Outcome"),
                "name": gettext(lang, "Recipient"),
                "channel": gettext(lang, "Channel"),
                "reason": gettext(lang, "Reason"),
                "retry": gettext(lang, "Retry the failed messages"),
                "to": gettext(lang, "To:"),
            },
        )

    async def registry(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """People, roles and municipalities with their data-quality findings; search."""
        lang, services = view.lang, self._services
        query = request.query.get("q", "")[:200]

        def read() -> dict[str, Any]:
            snapshot = services.registry.snapshot()
            people, places = queries.search_registry(snapshot, query)
            findings = queries.quality_findings(snapshot)
            by_subject: dict[tuple[str, str], list[Any]] = {}
            for f in findings:
                by_subject.setdefault((f.subject_kind, f.subject_key), []).append(f)
            roles = snapshot.role_type_by_key
            orgs = snapshot.organisation_by_key
            muni = snapshot.municipality_by_key

            def role_text(person: Any) -> str:
                parts = []
                for r in person.roles:
                    name = roles[r.role].name(lang) if r.role in roles else r.role
                    where = [
                        muni[r.municipality].name if r.municipality in muni else "",
                        orgs[r.organisation].name if r.organisation in orgs else "",
                    ]
                    place = ", ".join(w for w in where if w)
                    parts.append(f"{name} ({place})" if place else name)
                return "; ".join(parts)

            def finding_rows(kind: str, key: str) -> list[dict[str, str]]:
                return [
                    {"severity": f.severity, "message": f.message}
                    for f in by_subject.get((kind, key), [])
                ]

            return {
                "people": [
                    {
                        "name": p.name,
                        "email": p.email or "",
                        "roles": role_text(p),
                        "findings": finding_rows("person", p.key),
                    }
                    for p in people
                ],
                "places": [
                    {
                        "name": m.name,
                        "batch": m.batch or "",
                        "contacts": len(
                            [
                                p
                                for p in snapshot.people
                                if any(r.municipality == m.key for r in p.roles)
                            ]
                        ),
                        "findings": finding_rows("municipality", m.key),
                    }
                    for m in places
                ],
                "other": [
                    {"severity": f.severity, "subject": f.subject_name, "message": f.message}
                    for f in findings
                    if f.subject_kind not in ("person", "municipality")
                ],
                "errors": sum(1 for f in findings if f.severity == "error"),
                "total": len(findings),
            }

        found = await asyncio.to_thread(read)
        severity = {
            "error": gettext(lang, "error"),
            "warning": gettext(lang, "warning"),
            "info": gettext(lang, "note"),
        }
        return await self._page(
            "registry.html",
            request,
            view,
            title=gettext(lang, "Registry"),
            query=query,
            found=found,
            severity=severity,
            texts={
                "search": gettext(lang, "Search people, roles and municipalities"),
                "go": gettext(lang, "Search"),
                "people": ngettext(lang, "{n} person", "{n} people", len(found["people"])),
                "places": ngettext(
                    lang, "{n} municipality", "{n} municipalities", len(found["places"])
                ),
                "name": gettext(lang, "Name"),
                "email": gettext(lang, "E-mail"),
                "roles": gettext(lang, "Roles"),
                "findings": gettext(lang, "Data-quality findings"),
                "batch": gettext(lang, "Batch"),
                "contacts": gettext(lang, "Contacts"),
                "none": gettext(lang, "none"),
                "other": gettext(lang, "Other findings"),
                "summary": gettext(
                    lang,
                    "{errors} errors among {total} data-quality findings (coordbot registry check lists them all).",
                    errors=found["errors"],
                    total=found["total"],
                ),
                "nothing": gettext(lang, "Nothing matches “{query}”.", query=query),
            },
        )

    # --- actions --------------------------------------------------------------------------

    async def mark(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """POST mark delivered / undo."""
        data = await request.post()
        done = str(data.get("action", "")) == "done"
        text = await asyncio.to_thread(
            actions.set_delivered,
            self._services,
            view.holder,
            str(data.get("event", "")),
            str(data.get("municipality", "")),
            done,
            view.lang,
        )
        return await self._answer(request, view, text)

    async def invite(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """POST send or resend a meeting's invites."""
        data = await request.post()
        text = await actions.send_meeting_invites(
            self._services, str(data.get("event", "")), view.lang
        )
        return await self._answer(request, view, text)

    async def retry(self, request: web.Request, view: auth.SessionView) -> web.Response:
        """POST retry a broadcast's failed messages."""
        data = await request.post()
        raw = str(data.get("broadcast", ""))
        if not raw.isdigit():
            return await self._answer(
                request, view, gettext(view.lang, "No broadcast was chosen; nothing changed.")
            )
        text = await asyncio.to_thread(actions.retry_failed, self._services, int(raw), view.lang)
        return await self._answer(request, view, text)


def _https(request: web.Request) -> bool:
    """True when the browser talks https to us, directly or through a proxy that says so."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _where_from(data: Any, address: str) -> str:
    """The municipalities or organisations of the registry person with this address."""
    wanted = address.strip().lower()
    for person in data.people:
        if person.email and person.email.strip().lower() == wanted:
            places = dict.fromkeys(
                data.municipality_by_key[r.municipality].name
                if r.municipality in data.municipality_by_key
                else data.organisation_by_key[r.organisation].name
                if r.organisation in data.organisation_by_key
                else ""
                for r in person.roles
            )
            return ", ".join(p for p in places if p)
    return ""


def _marker_text(services: Services, by: str, lang: str) -> str:
    """Who made a deadline mark, readably: "Kari Nordmann (dashboard)", "command line"."""
    on_dashboard = by.startswith("dashboard:")
    source = by.removeprefix("dashboard:")
    if source == auth.CLI_HOLDER:
        who = gettext(lang, "command line")
    elif source.startswith("telegram:"):
        who = queries.chat_user_name(services.db, source) or gettext(
            lang, "Telegram user {id}", id=source.partition(":")[2]
        )
    else:
        who = source
    return gettext(lang, "{who} (dashboard)", who=who) if on_dashboard else who


def _holder_text(holder: str, lang: str) -> str:
    if holder == auth.CLI_HOLDER:
        return gettext(lang, "Logged in from the command line")
    return gettext(lang, "Logged in as Telegram user {id}", id=holder.partition(":")[2])


def _expired(request: web.Request) -> str:
    lang = reply_language(request.query.get("lang"), "en")
    return gettext(
        lang,
        "This login link cannot be used: it was used already, has expired (links last 15 minutes) or is not a link for a coordinator. Ask for a new one.",
    )


def _login_texts(lang: str) -> dict[str, str]:
    return {
        "intro": gettext(
            lang,
            "This dashboard is for the programme's coordinators. You log in with a one-time link, valid for 15 minutes:",
        ),
        "telegram": gettext(lang, "in Telegram, send /dashboard to the bot;"),
        "cli": gettext(lang, "on the server, run: coordbot dashboard link"),
        "button": gettext(lang, "Log in"),
        "confirm": gettext(lang, "Press the button to log in with this link. It works only once."),
    }


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
