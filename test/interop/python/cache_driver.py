"""Drives real MSAL Python's token cache for the cache interop tests.

Usage: python3 cache_driver.py <scenario> '<json config>'
Prints one JSON object per line: {"event": ..., ...}. The CA is trusted through REQUESTS_CA_BUNDLE.
Caches travel through files (config "cache_file"), not the command line, as a real app would keep them.

- write: signs users in (username and password) with a PublicClientApplication and gets an app token
  with a ConfidentialClientApplication, both on one SerializableTokenCache, then writes that cache.
- read: loads a cache written by someone else and asks MSAL Python for accounts and tokens, silently.
"""
import json
import sys

import msal
from msal_driver import PortPreservingSession, emit


def options(cfg, cache):
    return {
        "authority": cfg["authority"],
        "instance_discovery": False,
        "http_client": PortPreservingSession(cfg["authority"]),
        "token_cache": cache,
    }


def apps(cfg, cache):
    pca = msal.PublicClientApplication(cfg["client_id"], **options(cfg, cache))
    cca = msal.ConfidentialClientApplication(
        cfg["daemon_client_id"], client_credential=cfg["daemon_secret"], **options(cfg, cache))
    return pca, cca


def write(cfg):
    cache = msal.SerializableTokenCache()
    pca, cca = apps(cfg, cache)
    users = {}
    for u in cfg["users"]:
        result = pca.acquire_token_by_username_password(u["username"], u["password"], scopes=cfg["scopes"])
        users[u["username"]] = {k: result.get(k) for k in ("access_token", "error", "error_description")}
    app_token = cca.acquire_token_for_client(cfg["app_scopes"])
    with open(cfg["cache_file"], "w") as f:
        f.write(cache.serialize())
    emit("result",
         users=users,
         app={k: app_token.get(k) for k in ("access_token", "error", "error_description")},
         accounts=pca.get_accounts())


def read(cfg):
    cache = msal.SerializableTokenCache()
    with open(cfg["cache_file"]) as f:
        cache.deserialize(f.read())
    pca, cca = apps(cfg, cache)
    accounts = pca.get_accounts()
    silent = {}
    for account in accounts:
        result = pca.acquire_token_silent(cfg["scopes"], account=account)
        silent[account["username"]] = result and {k: result.get(k) for k in ("access_token", "error", "token_type")}
    # MSAL Python 1.21's acquire_token_for_client always asks the server; its cache is read this way.
    app_result = cca.acquire_token_silent(cfg["app_scopes"], account=None)
    emit("result",
         accounts=accounts,
         silent=silent,
         app=app_result and {k: app_result.get(k) for k in ("access_token", "error", "token_type")})


SCENARIOS = {f.__name__: f for f in [write, read]}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
