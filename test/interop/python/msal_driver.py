"""Drives real MSAL Python against the msal-ts emulator for the interop tests.

Usage: python3 msal_driver.py <scenario> '<json config>'
Prints one JSON object per line: {"event": ..., ...}. The CA is trusted through REQUESTS_CA_BUNDLE.
"""
import json
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import msal
import requests


def emit(event, **fields):
    print(json.dumps(dict(fields, event=event)), flush=True)


class PortPreservingSession(requests.Session):
    """MSAL Python builds the user realm discovery URL from the authority's host without its port
    (https://localhost/common/userrealm/...), which only works when the authority is on 443. This
    transport puts the emulator's port back; MSAL's own code runs unchanged."""

    def __init__(self, authority):
        super().__init__()
        parsed = urlparse(authority)
        self.portless = "https://%s/" % parsed.hostname
        self.origin = "https://%s/" % parsed.netloc

    def request(self, method, url, *args, **kwargs):
        if url.startswith(self.portless):
            url = self.origin + url[len(self.portless):]
        return super().request(method, url, *args, **kwargs)


def app_options(cfg):
    # The authority is not a Microsoft host: instance discovery either goes to the emulator's own
    # endpoint (when the test asks for it) or is turned off, as a developer would for a custom host.
    return {
        "authority": cfg["authority"],
        "instance_discovery": cfg.get("instance_discovery", False),
        "http_client": PortPreservingSession(cfg["authority"]),
    }


def confidential(cfg):
    credential = cfg.get("secret") or {"private_key": cfg["private_key"], "thumbprint": cfg["thumbprint"]}
    return msal.ConfidentialClientApplication(cfg["client_id"], client_credential=credential, **app_options(cfg))


def client_credentials(cfg):
    app = confidential(cfg)
    first = app.acquire_token_for_client(cfg["scopes"])
    # MSAL Python 1.21's acquire_token_for_client always asks the server; its cache is read with
    # acquire_token_silent(account=None). Newer releases look in the cache first.
    second = app.acquire_token_silent(cfg["scopes"], account=None)
    emit("result", first=first, second=second)


def password(cfg):
    app = msal.PublicClientApplication(cfg["client_id"], **app_options(cfg))
    first = app.acquire_token_by_username_password(cfg["username"], cfg["password"], scopes=cfg["scopes"])
    accounts = app.get_accounts()
    refreshed = None
    if cfg.get("force_refresh") and accounts:
        refreshed = app.acquire_token_silent(cfg["scopes"], account=accounts[0], force_refresh=True)
    emit("result", first=first, accounts=accounts, refreshed=refreshed)


def device_flow(cfg):
    app = msal.PublicClientApplication(cfg["client_id"], **app_options(cfg))
    flow = app.initiate_device_flow(scopes=cfg["scopes"])
    emit("flow", flow={k: v for k, v in flow.items() if k != "device_code"})
    if "user_code" not in flow:
        return
    # Lets a test poll past the client's own deadline, so the server's expired_token is observed.
    flow["expires_at"] += cfg.get("extend_expiry_seconds", 0)
    result = app.acquire_token_by_device_flow(flow)
    emit("result", result=result)


def obo(cfg):
    pca = msal.PublicClientApplication(cfg["client_id"], **app_options(cfg))
    user = pca.acquire_token_by_username_password(cfg["username"], cfg["password"], scopes=cfg["api_scopes"])
    if "access_token" not in user:
        emit("result", user=user)
        return
    middle_tier = msal.ConfidentialClientApplication(
        cfg["mt_client_id"], client_credential=cfg["mt_secret"], **app_options(cfg))
    result = middle_tier.acquire_token_on_behalf_of(user["access_token"], cfg["downstream_scopes"])
    emit("result", user=user, result=result)


class FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def sign_in(auth_uri, username, password_value):
    """What a person does in the browser, over plain HTTP: open the page, fill the form, submit."""
    session = requests.Session()
    page = session.get(auth_uri, allow_redirects=False)
    form = FormParser()
    form.feed(page.text)
    answer = session.post(
        form.action,
        data=dict(form.fields, username=username, password=password_value, action="signin"),
        allow_redirects=False)
    location = answer.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def auth_code(cfg):
    app = confidential(cfg) if cfg.get("secret") else msal.PublicClientApplication(cfg["client_id"], **app_options(cfg))
    flow = app.initiate_auth_code_flow(cfg["scopes"], redirect_uri=cfg["redirect_uri"])
    auth_response = sign_in(flow["auth_uri"], cfg["username"], cfg["password"])
    if cfg.get("tamper_verifier"):
        flow["code_verifier"] = "x" * 43
    first = app.acquire_token_by_auth_code_flow(dict(flow), auth_response)
    second = app.acquire_token_by_auth_code_flow(dict(flow), auth_response) if cfg.get("redeem_twice") else None
    emit("result", first=first, second=second, accounts=app.get_accounts())


SCENARIOS = {f.__name__: f for f in [client_credentials, password, device_flow, obo, auth_code]}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
