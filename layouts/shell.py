"""What the pages other than the wall share: the list of pages with who may open them, and the header
(title, links to the pages the user may open, the user's name, logout).

``PAGES`` is also the app factory's role gate for each page, so that a link is shown exactly when
the page behind it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import html

from . import i18n


@dataclass(frozen=True)
class Page:
    path: str  # without a trailing slash; "/" is the wall
    label: str
    roles: tuple[str, ...] | None  # None: every signed-in user

    def allows(self, role: str | None) -> bool:
        """``role`` None: auth is off (demo), every page is open."""
        return self.roles is None or role is None or role in self.roles


WALL = Page("/", "大屏", None)
REVIEW = Page("/review", "研判会商", ("center", "leader", "street"))
OPS = Page("/ops", "运行监测", ("center",))
PAGES = (WALL, REVIEW, OPS)

ROLE_NAMES = {"center": "值班", "leader": "领导", "street": "街道", "wall": "大屏"}


def nav_links(current: str, role: str | None) -> html.Nav:
    links = [html.A(page.label, href=page.path, className="shell-link shell-link--current" if page.path == current
                    else "shell-link", **{"data-page": page.path})
             for page in PAGES if page.allows(role)]
    return html.Nav(links, id="shell-nav", className="shell-nav")


def user_box(username: str | None, role: str | None) -> html.Div:
    if username is None:  # auth off
        return html.Div(id="shell-user", className="shell-user")
    return html.Div(id="shell-user", className="shell-user", children=[
        html.Span(username, className="shell-user-name"),
        html.Span(ROLE_NAMES.get(role or "", role or ""), className="shell-user-role"),
        html.Form(action="/logout", method="POST", className="shell-logout",
                  children=[html.Button("退出", type="submit", className="shell-logout-button")]),
    ])


def shell_header(title: str, current: str, username: str | None, role: str | None) -> html.Header:
    return html.Header(className="shell-header", children=[
        html.Div(className="shell-left", children=[
            html.H1(f"{i18n.CENTER_TITLE} · {title}", id="shell-title", className="shell-title"),
            nav_links(current, role),
        ]),
        user_box(username, role),
    ])


def section(title: str, body, extra=None) -> html.Section:
    """A panel of a page, in the wall's panel style."""
    head = [html.H2(title, className="panel-title")]
    if extra is not None:
        head.append(extra)
    return html.Section(className="panel page-panel", children=[
        html.Div(head, className="panel-head"),
        html.Div(body, className="panel-body"),
    ])


def page_frame(title: str, current: str, username: str | None, role: str | None, body: list) -> html.Div:
    """A page: the shared header above its own body (the page scrolls, unlike the wall)."""
    return html.Div(className="page", children=[
        shell_header(title, current, username, role),
        html.Main(body, className="page-body"),
    ])
