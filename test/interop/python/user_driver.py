"""Drives real MSAL Python for the user interop tests: a user signed in by one library is served by another.

Usage: python3 user_driver.py <scenario> '<json config>'
Prints one JSON object per line: {"event": ..., ...}. The CA is trusted through REQUESTS_CA_BUNDLE.
The cache travels through a file (config "cache_file"), as a real app keeps it.

- sign_in: signs a user in with username and password (PublicClientApplication), writes the cache.
- silent: loads the cache someone else wrote, lists its accounts and calls acquire_token_silent for the
  first one (with force_refresh when asked), then writes the cache back.
"""
import json
import sys

import msal
from msal_driver import PortPreservingSession, emit


def public_app(cfg, cache):
    return msal.PublicClientApplication(
        cfg["client_id"],
        authority=cfg["authority"],
        instance_discovery=False,
        http_client=PortPreservingSession(cfg["authority"]),
        token_cache=cache,
    )


def fields(result, names=("access_token", "refresh_token", "token_type", "error", "error_description")):
    return result and {k: result.get(k) for k in names if k in result}


def sign_in(cfg):
    cache = msal.SerializableTokenCache()
    app = public_app(cfg, cache)
    result = app.acquire_token_by_username_password(cfg["username"], cfg["password"], scopes=cfg["scopes"])
    with open(cfg["cache_file"], "w") as f:
        f.write(cache.serialize())
    emit("result", result=fields(result), id_token_claims=result.get("id_token_claims"), accounts=app.get_accounts())


def silent(cfg):
    cache = msal.SerializableTokenCache()
    with open(cfg["cache_file"]) as f:
        cache.deserialize(f.read())
    app = public_app(cfg, cache)
    accounts = app.get_accounts()
    result = None
    if accounts:
        result = app.acquire_token_silent(cfg["scopes"], account=accounts[0], force_refresh=cfg.get("force_refresh", False))
    changed = cache.has_state_changed
    if changed:
        with open(cfg["cache_file"], "w") as f:
            f.write(cache.serialize())
    emit("result", accounts=accounts, result=fields(result), cache_changed=changed)


SCENARIOS = {f.__name__: f for f in [sign_in, silent]}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
