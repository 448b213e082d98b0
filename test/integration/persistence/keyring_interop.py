"""MSAL Python's side of keyring-python-interop.test.ts (run by /usr/bin/python3).

Uses msal-extensions' LibsecretPersistence and PersistedTokenCache the way an app would, configured
to share one Secret Service item with msal-ts's KeyringPersistence: the schema name libsecret gives
items that name none (org.freedesktop.Secret.Generic), and the two attributes msal-ts's binding
sets, "service" and "username" (the account). The signal file is the same path msal-ts is given,
so both use its .lockfile and both reload when it is touched.

Usage: keyring_interop.py <signal path> <service> <account> add <name>...
       keyring_interop.py <signal path> <service> <account> list
With service and account "-", msal-extensions' defaults instead (schema name: the SHA-256 of the
signal path; no attributes). Prints one JSON line.
"""
import json
import sys

import msal
from msal_extensions import LibsecretPersistence, PersistedTokenCache

signal, service, account, command, *names = sys.argv[1:]
persistence = LibsecretPersistence(signal) if service == "-" else LibsecretPersistence(
    signal,
    schema_name="org.freedesktop.Secret.Generic",
    attributes={"service": service, "username": account},
)
cache = PersistedTokenCache(persistence)

if command == "add":
    for name in names:
        cache.add({
            "client_id": "daemon",
            "scope": ["api://%s/.default" % name],
            "token_endpoint": "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
            "grant_type": "client_credentials",
            "response": {"access_token": "secret-" + name, "expires_in": 3600, "token_type": "Bearer"},
        })
tokens = {at["target"]: at["secret"] for at in cache.find(msal.TokenCache.CredentialType.ACCESS_TOKEN)}
print(json.dumps({"tokens": tokens}))
