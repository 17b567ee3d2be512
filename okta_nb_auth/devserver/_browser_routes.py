"""Person-facing routes: ``/v1/authorize`` with its sign-in form, ``/v1/logout``, ``/activate``."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ._authority import Authority
from ._authorize_checks import BAD_CLIENT, BAD_REDIRECT, check_request
from ._http import html_error, not_found, oauth_error, read_form
from ._pages import activate_page, form_post_page, index_page, login_page, message
from ._par import PUSHED, PushedRequests
from ._settings import AppSettings
from ._state import CodeRecord, OAuthFailure, opaque
from ._tokens import AuthServer

__all__ = ["BrowserRoutes"]

SESSION_COOKIE = "okta_dev_sid"
TXN_TTL = 600
DENIED = "The resource owner or authorization server denied the request."


class _Redirected(Exception):
    """An /authorize error delivered to the client's redirect URI."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _deliver(params: dict[str, str], fields: dict[str, str]) -> Response:
    """Send the authorize result to the redirect URI in the requested response mode."""
    redirect_uri, mode = params["redirect_uri"], params.get("response_mode", "query")
    if "state" in params:
        fields = {**fields, "state": params["state"]}
    if mode == "form_post":
        return HTMLResponse(form_post_page(redirect_uri, fields))
    sep = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    response = RedirectResponse(redirect_uri + sep + urlencode(fields), status_code=302)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class BrowserRoutes:
    def __init__(self, authority: Authority, max_body: int) -> None:
        self.authority = authority
        self.store = authority.store
        self.pushed = PushedRequests(authority)
        self.max_body = max_body

    def routes(self) -> list[Route]:
        routes = [
            Route("/", self.index, methods=["GET"]),
            Route("/activate", self.activate, methods=["GET", "POST"]),
        ]
        for prefix in ("/oauth2/{server_id}", "/oauth2"):
            routes += [
                Route(f"{prefix}/v1/authorize", self.authorize, methods=["GET", "POST"]),
                Route(f"{prefix}/v1/logout", self.logout, methods=["GET"]),
            ]
        return routes

    @property
    def presenter(self) -> bool:
        """Presenter mode: the pages mask e-mail addresses and user codes."""
        return self.authority.settings.presenter

    async def index(self, request: Request) -> Response:
        apps = {name: app.client_id for name, app in self.authority.apps.items()}
        servers = self.authority.servers
        page = index_page(
            servers["default"].issuer,
            servers["org"].issuer,
            apps,
            list(self.authority.settings.users),
            presenter=self.presenter,
        )
        return HTMLResponse(page)

    # -- /v1/authorize ---------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        server = self.authority.server(request.path_params.get("server_id", "org"))
        if server is None:
            return not_found(request.path_params["server_id"])
        if request.method == "POST":
            return await self._sign_in(request, server)
        query = dict(request.query_params)
        app = self.authority.app_by_client_id(query.get("client_id", ""))
        if app is None:
            return html_error(BAD_CLIENT)
        try:
            params = self.pushed.resolve(server, app, query)
        except OAuthFailure as failure:
            return oauth_error(failure)
        if params.get("redirect_uri") not in app.redirect_uris:
            return html_error(BAD_REDIRECT)
        try:
            self._validate(server, app, params)
            session = self._session(request)
            prompt = params.get("prompt", "").split()
            if "none" in prompt and session is None:
                raise _Redirected(
                    "login_required",
                    "The client specified not to prompt, but the user is not logged in.",
                )
            if session is not None and "login" not in prompt:
                return self._issue_code(server, app, params, *session)
        except _Redirected as err:
            return _deliver(params, {"error": err.error, "error_description": err.description})
        except OAuthFailure as failure:  # a pushed request used meanwhile
            return oauth_error(failure)
        txn = opaque(16)
        with self.store.lock:
            self.store.transactions[txn] = {**params, "_created": str(self.store.clock())}
        page = login_page(txn, app.name, params["scope"], "", None, presenter=self.presenter)
        return HTMLResponse(page)

    def _validate(self, server: AuthServer, app: AppSettings, params: dict[str, str]) -> None:
        try:
            check_request(self.authority, server, app, params, pushed=PUSHED in params)
        except OAuthFailure as failure:
            raise _Redirected(failure.error, failure.description) from None

    def _session(self, request: Request) -> tuple[str, int] | None:
        sid = request.cookies.get(SESSION_COOKIE, "")
        with self.store.lock:
            return self.store.sessions.get(sid)

    async def _sign_in(self, request: Request, server: AuthServer) -> Response:
        try:
            form = await read_form(request, self.max_body)
        except OAuthFailure as failure:
            return html_error(failure.description, failure.status)
        with self.store.lock:
            params = self.store.transactions.get(form.get("txn", ""))
        if params is None or float(params["_created"]) + TXN_TTL < self.store.clock():
            return html_error("This sign-in request has expired. Start the login again.")
        app = self.authority.app_by_client_id(params["client_id"])
        if app is None:
            return html_error(BAD_CLIENT)
        if form.get("action") == "cancel":
            self._forget(form["txn"])
            return _deliver(params, {"error": "access_denied", "error_description": DENIED})
        username = form.get("username", "")
        user = self.authority.check_password(username, form.get("password", ""))
        if user is None:
            page = login_page(
                form["txn"],
                app.name,
                params["scope"],
                username,
                "Sign-in failed: unknown "
                "username or wrong password. Check the README for the test users.",
                presenter=self.presenter,
            )
            return HTMLResponse(page, status_code=401)
        self._forget(form["txn"])
        auth_time = int(self.store.clock())
        try:
            response = self._issue_code(server, app, params, user.login, auth_time)
        except _Redirected as err:
            return _deliver(params, {"error": err.error, "error_description": err.description})
        except OAuthFailure as failure:  # its pushed request already gave a code
            return oauth_error(failure)
        sid = secrets.token_urlsafe(24)
        with self.store.lock:
            self.store.sessions[sid] = (user.login, auth_time)
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    def _forget(self, txn: str) -> None:
        with self.store.lock:
            self.store.transactions.pop(txn, None)

    def _issue_code(
        self, server: AuthServer, app: AppSettings, params: dict[str, str], login: str, auth: int
    ) -> Response:
        if app.assigned_users is not None and login not in app.assigned_users:
            raise _Redirected("access_denied", "User is not assigned to the client application.")
        self.pushed.consume(params)
        record = CodeRecord(
            code=opaque(),
            server_id=server.id,
            app=app.name,
            redirect_uri=params["redirect_uri"],
            scopes=tuple(dict.fromkeys(params["scope"].split())),
            user=login,
            auth_time=auth,
            expires_at=self.store.clock() + 300,
            nonce=params.get("nonce"),
            challenge=params.get("code_challenge"),
        )
        with self.store.lock:
            self.store.codes[record.code] = record
        return _deliver(params, {"code": record.code})

    # -- /v1/logout ------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        server = self.authority.server(request.path_params.get("server_id", "org"))
        if server is None:
            return not_found(request.path_params["server_id"])
        params = dict(request.query_params)
        try:
            claims = self.authority.id_token_claims(server, params.get("id_token_hint", ""), False)
        except jwt.PyJWTError:
            return html_error("The 'id_token_hint' parameter is not a valid ID token.")
        app = self.authority.app_by_client_id(str(claims.get("aud", "")))
        target = params.get("post_logout_redirect_uri")
        if app is None or (target is not None and target not in app.post_logout_redirect_uris):
            return html_error(
                "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the "
                "client app settings."
            )
        sid = request.cookies.get(SESSION_COOKIE, "")
        with self.store.lock:
            self.store.sessions.pop(sid, None)
        if target is None:
            response: Response = RedirectResponse(self.authority.base_url + "/", status_code=302)
        else:
            state = {"state": params["state"]} if "state" in params else {}
            sep = "&" if "?" in target else "?"
            location = target + (sep + urlencode(state) if state else "")
            response = RedirectResponse(location, status_code=302)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- /activate -------------------------------------------------------------------------

    async def activate(self, request: Request) -> Response:
        if request.method == "GET":
            code = request.query_params.get("user_code", "")
            return HTMLResponse(activate_page(code, "", None, presenter=self.presenter))
        try:
            form = await read_form(request, self.max_body)
        except OAuthFailure as failure:
            return html_error(failure.description, failure.status)
        raw_code, username = form.get("user_code", ""), form.get("username", "")
        code = raw_code.strip().upper().replace("-", "").replace(" ", "")
        with self.store.lock:
            record = self.store.devices.get(self.store.user_codes.get(code, ""))
            usable = (
                record is not None
                and record.status == "pending"
                and record.expires_at >= self.store.clock()
            )
        if record is None or not usable:
            error = "That code is not valid or has expired. Check the code on your device."
            return self._activate_again(raw_code, username, error, 400)
        if form.get("action") == "deny":
            record.status = "denied"
            return HTMLResponse(message("Access denied", "You can close this window."))
        user = self.authority.check_password(username, form.get("password", ""))
        if user is None:
            error = "Sign-in failed: unknown username or wrong password."
            return self._activate_again(raw_code, username, error, 401)
        app = self.authority.apps.get(record.app)
        if (
            app is not None
            and app.assigned_users is not None
            and user.login not in app.assigned_users
        ):
            error = "User is not assigned to the client application."
            return self._activate_again(raw_code, username, error, 403)
        with self.store.lock:
            record.status, record.user = "approved", user.login
        text = f"Signed in as {user.login}. Return to your device."
        return HTMLResponse(message("Device activated", text, presenter=self.presenter))

    def _activate_again(self, code: str, username: str, error: str, status: int) -> Response:
        page = activate_page(code, username, error, presenter=self.presenter)
        return HTMLResponse(page, status_code=status)
