"""The MSAL Python peer of the msal-ts benchmarks.

Usage: python3 bench/peer_msal_python.py < spec.json
Reads the runner's spec (see bench/spec.ts) on stdin, runs its tasks one after another against the
installed MSAL Python (Debian's python3-msal), and prints one JSON event per line on stdout:
{"event": "hello" | "ready" | "result" | "error", ...}.

The fake identity provider below answers with the very texts the Node fake uses (the spec carries
them), through MSAL Python's own injection point, ``http_client=``. Timing follows bench/measure.ts:
a warm-up that estimates the cost of one call, then several runs of a fixed number of calls.

MSAL Python 1.21 notes: ``acquire_token_for_client`` never reads the cache (that came in 1.23), so
its cache hit is measured with ``acquire_token_silent(scopes, account=None)``, and every
``acquire_token_for_client`` call is a trip to the identity provider (a "miss").
"""
import base64
import gc
import json
import random
import re
import sys
import threading
import time
import traceback
from urllib.parse import parse_qs, urlparse

try:
    import msal
except ImportError:  # The runner checks first; this keeps the message plain if run by hand.
    print(json.dumps({"event": "fatal", "message": "MSAL Python is not installed (apt-get install python3-msal)"}))
    sys.exit(2)

ENVIRONMENT = "login.microsoftonline.com"
USER_CLIENT_ID = "b1e7c0de-0000-4000-8000-00000000c11e"
DAEMON_CLIENT_ID = "b1e7c0de-0000-4000-8000-0000000da30e"
DAEMON_SECRET = "bench-daemon-secret"
USER_SCOPES = ["User.Read"]


def tenant_id(index):
    return "7e4a0000-0000-4000-8000-%012x" % index


def app_scope(index):
    return "https://api-%d.bench.example/.default" % index


USER_TENANT = tenant_id(0)


def emit(event, **fields):
    print(json.dumps(dict(fields, event=event)), flush=True)


def b64url(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class FakeResponse:
    def __init__(self, status_code, text, headers):
        self.status_code = status_code
        self.text = text
        self.headers = headers

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("HTTP %d" % self.status_code)


HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store, no-cache",
    "x-ms-request-id": "bench",
}
RT_PATTERN = re.compile(r"^bench-rt\|([^|]+)\|")


class FakeIdp:
    """MSAL Python's ``http_client``: ``get`` and ``post`` answered in process, counted."""

    def __init__(self, templates, delay_ms=0):
        self.t = templates
        self.delay = delay_ms / 1000.0
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.counts = dict(discovery=0, instanceDiscovery=0, clientCredential=0, refresh=0, other=0)

    def _count(self, name):
        with self.lock:
            self.counts[name] += 1

    def _ok(self, text):
        return FakeResponse(200, text, dict(HEADERS))

    def _answer(self, method, url, params, data):
        if self.delay:
            time.sleep(self.delay)
        parsed = urlparse(url)
        segments = [s for s in parsed.path.split("/") if s]
        tenant, path = (segments[0] if segments else ""), "/".join(segments[1:])
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        query.update(params or {})
        if method == "GET" and path == "v2.0/.well-known/openid-configuration":
            self._count("discovery")
            return self._ok(self.t["discovery"].replace("{tenant}", tenant))
        if method == "GET" and path == "discovery/instance":
            self._count("instanceDiscovery")
            named = [s for s in urlparse(query.get("authorization_endpoint", "")).path.split("/") if s]
            return self._ok(self.t["instanceDiscovery"].replace("{tenant}", named[0] if named else "common"))
        if method == "POST" and path == "oauth2/v2.0/token":
            form = data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data or "").items()}
            grant = form.get("grant_type")
            if grant == "client_credentials":
                self._count("clientCredential")
                return self._ok(self.t["clientCredential"])
            match = RT_PATTERN.match(form.get("refresh_token") or "")
            if grant == "refresh_token" and match:
                self._count("refresh")
                uid = match.group(1)
                id_token = "%s.%s.%s" % (
                    self.t["idTokenHeader"],
                    b64url(self.t["idTokenClaims"].replace("{uid}", uid)),
                    self.t["idTokenSignature"])
                client_info = b64url(self.t["clientInfo"].replace("{uid}", uid))
                return self._ok(self.t["refresh"].replace("{uid}", uid)
                                .replace("{id_token}", id_token, 1)
                                .replace("{client_info}", client_info, 1))
        self._count("other")
        return FakeResponse(400, self.t["badRequest"], dict(HEADERS))

    def get(self, url, params=None, headers=None, **kwargs):
        return self._answer("GET", url, params, None)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self._answer("POST", url, params, data)

    def close(self):
        pass

    @property
    def token_requests(self):
        return self.counts["clientCredential"] + self.counts["refresh"]


def quantile(ordered, q):
    position = (len(ordered) - 1) * q
    low, high = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(per_call, calls_per_run):
    ordered = sorted(per_call)
    return dict(median=quantile(ordered, 0.5), min=ordered[0], max=ordered[-1],
                q1=quantile(ordered, 0.25), q3=quantile(ordered, 0.75),
                runs=len(ordered), callsPerRun=calls_per_run)


def time_it(fn, plan):
    """Microseconds per call of fn(i), as bench/measure.ts's time()."""
    clock = time.perf_counter
    i = 0
    start = clock()
    warm = 0
    while True:
        fn(i)
        i += 1
        warm += 1
        elapsed = (clock() - start) * 1000
        if elapsed > 1000 or (warm >= plan.get("minWarmupCalls", 1) and elapsed >= plan["warmupMs"]):
            break  # One call that takes a second has warmed itself up.
    per_call_ms = (clock() - start) * 1000 / warm
    calls = max(1, int(-(-plan["minRunMs"] // max(per_call_ms, 1e-6))))
    per_call = []
    for run in range(plan["runs"]):
        if run >= 3 and (clock() - start) * 1000 > plan["budgetMs"]:
            break
        gc.collect()  # Every run starts from a collected heap, as the Node peers' do.
        t0 = clock()
        for _ in range(calls):
            fn(i)
            i += 1
        per_call.append((clock() - t0) * 1e6 / calls)
    return summarise(per_call, calls)


def time_interleaved(fns, plan):
    """Several operations timed in alternation, as bench/measure.ts's timeInterleaved()."""
    clock = time.perf_counter
    calls = {}
    for name, fn in fns.items():
        start, warm = clock(), 0
        while True:
            fn()
            warm += 1
            elapsed = (clock() - start) * 1000
            if elapsed > 1000 or (warm >= plan.get("minWarmupCalls", 1) and elapsed >= plan["warmupMs"]):
                break
        calls[name] = max(1, int(-(-plan["minRunMs"] // max(elapsed / warm, 1e-6))))
    per_call = {name: [] for name in fns}
    start = clock()
    for run in range(plan["runs"]):
        if run >= 3 and (clock() - start) * 1000 > plan["budgetMs"] * len(fns):
            break
        for name, fn in fns.items():
            gc.collect()
            t0 = clock()
            for _ in range(calls[name]):
                fn()
            per_call[name].append((clock() - t0) * 1e6 / calls[name])
    return {name: summarise(per_call[name], calls[name]) for name in fns}


def shuffled(items, seed=0x9E3779B9):
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def read(path):
    with open(path) as f:
        return f.read()


def authority_of(tenant):
    return "https://%s/%s" % (ENVIRONMENT, tenant)


def expect_token(result, what):
    if not result or "access_token" not in result:
        raise RuntimeError("%s returned no token: %r" % (what, result))


def client_credentials(task, spec, fake, ready):
    cache = msal.SerializableTokenCache()
    cache.deserialize(read(task["cacheFile"]))
    # One app per tenant sharing one cache. Construction runs discovery (through the fake).
    apps = [msal.ConfidentialClientApplication(
        DAEMON_CLIENT_ID, client_credential=DAEMON_SECRET, authority=authority_of(tenant_id(t + 1)),
        token_cache=cache, http_client=fake) for t in range(task["tenants"])]
    scopes = [[app_scope(r)] for r in range(task["perTenant"])]
    for app in apps:
        expect_token(app.acquire_token_silent(scopes[0], account=None), "priming")
    order = shuffled([(t, r) for t in range(task["tenants"]) for r in range(task["perTenant"])])
    miss = task["kind"] == "cc-miss"
    fake.reset()
    ready()
    if miss:  # 1.21: acquire_token_for_client always asks the identity provider.
        def call(i):
            t, r = order[i % len(order)]
            return apps[t].acquire_token_for_client(scopes[r])
    else:
        def call(i):
            t, r = order[i % len(order)]
            return apps[t].acquire_token_silent(scopes[r], account=None)
    timing = time_it(call, spec["plan"])
    sent = fake.counts["clientCredential"]
    if not miss and sent:
        raise RuntimeError("%d token requests during cache hits" % sent)
    timings = {}
    if not miss and task["tenants"] > 1:
        # MSAL Python's own benchmark gives each tenant's app a cache of its own.
        by_realm = {}
        for key, entry in json.loads(read(task["cacheFile"]))["AccessToken"].items():
            by_realm.setdefault(entry["realm"], {})[key] = entry
        own = []
        for t in range(task["tenants"]):
            own_cache = msal.SerializableTokenCache()
            own_cache.deserialize(json.dumps({"AccessToken": by_realm[tenant_id(t + 1)]}))
            own.append(msal.ConfidentialClientApplication(
                DAEMON_CLIENT_ID, client_credential=DAEMON_SECRET, authority=authority_of(tenant_id(t + 1)),
                token_cache=own_cache, http_client=fake))

        def own_call(i):
            t, r = order[i % len(order)]
            return own[t].acquire_token_silent(scopes[r], account=None)
        expect_token(own_call(0), "own-cache hit")
        timings["cachePerTenant"] = time_it(own_call, spec["plan"])
    return dict(timing=timing, timings=timings, facts=dict(tokenRequests=sent))


def users(task, spec, fake, ready):
    cache = msal.SerializableTokenCache()
    cache.deserialize(read(task["cacheFile"]))
    app = msal.PublicClientApplication(
        USER_CLIENT_ID, authority=authority_of(USER_TENANT), token_cache=cache, http_client=fake)
    accounts = app.get_accounts()
    if len(accounts) != task["users"]:
        raise RuntimeError("get_accounts found %d of %d" % (len(accounts), task["users"]))
    if task["kind"] == "get-accounts":
        ready()
        return dict(timing=time_it(lambda i: app.get_accounts(), spec["plan"]),
                    facts=dict(accounts=len(accounts)))
    asked = shuffled(accounts)[:1000]
    refresh = task["kind"] == "silent-refresh"
    expect_token(app.acquire_token_silent(USER_SCOPES, asked[0], force_refresh=refresh), "a silent call")
    fake.reset()
    ready()
    timing = time_it(
        lambda i: app.acquire_token_silent(USER_SCOPES, asked[i % len(asked)], force_refresh=refresh),
        spec["plan"])
    sent = fake.counts["refresh"]
    if not refresh and sent:
        raise RuntimeError("%d token requests during silent cache hits" % sent)
    return dict(timing=timing, facts=dict(tokenRequests=sent, accounts=len(accounts)))


def serialization(task, spec, fake, ready):
    text = read(task["cacheFile"])
    cache = msal.SerializableTokenCache()
    parsed = json.loads(text)
    ready()
    timings = time_interleaved(dict(
        deserialize=lambda: cache.deserialize(text),
        serialize=lambda: cache.serialize(),
        rawParse=lambda: json.loads(text),
        rawStringify=lambda: json.dumps(parsed),
    ), spec["plan"])
    out = cache.serialize()
    return dict(timings=timings, facts=dict(
        bytes=len(text.encode()), accessTokens=len(json.loads(out).get("AccessToken", {})),
        roundTripIdentical=out == text))


def concurrent_cold(task, spec, fake, ready):
    walls, failures, counts = [], 0, {}
    ready()
    for _ in range(task["rounds"]):
        fake = FakeIdp(spec["fake"], delay_ms=task["delayMs"])
        app = msal.ConfidentialClientApplication(
            DAEMON_CLIENT_ID, client_credential=DAEMON_SECRET, authority=authority_of(tenant_id(1)),
            http_client=fake)
        barrier = threading.Barrier(task["calls"])
        results = [None] * task["calls"]

        def worker(n):
            barrier.wait()
            results[n] = app.acquire_token_for_client([app_scope(0)])
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(task["calls"])]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        walls.append((time.perf_counter() - t0) * 1000)
        failures += sum(1 for r in results if not r or "access_token" not in r)
        counts = fake.counts
    return dict(facts=dict(counts, failures=failures, wallMs=walls))


def end_to_end(task, spec, fake, ready):
    # requests.Session (MSAL Python's default) trusts the emulator's CA through REQUESTS_CA_BUNDLE.
    app = msal.ConfidentialClientApplication(
        task["clientId"], client_credential=task["secret"], authority=task["authority"],
        instance_discovery=False)

    def call():
        expect_token(app.acquire_token_for_client([task["scope"]]), "e2e")
    for _ in range(task["warmup"]):
        call()
    ready()
    per_run = -(-task["count"] // task["runs"])
    rates = []
    for _ in range(task["runs"]):
        t0 = time.perf_counter()
        for _ in range(per_run):
            call()
        rates.append(per_run / (time.perf_counter() - t0))
    return dict(facts=dict(requestsPerSecond=rates, calls=task["warmup"] + per_run * task["runs"]))


def now_us():
    return time.perf_counter() * 1e6


def one_shot(task, spec, fake, ready):
    """deserialize + get_accounts + one silent hit (or json.loads alone), timed once in a fresh process."""
    text = read(task["cacheFile"])
    ready()
    t0 = now_us()
    if task["part"] == "raw":
        # Kept until the clock is read: freeing the parsed objects is not part of parsing.
        parsed = json.loads(text)
        raw = now_us() - t0
        return dict(facts=dict(rawParseUs=raw, entries=len(parsed)))
    cache = msal.SerializableTokenCache()
    cache.deserialize(text)
    app = msal.PublicClientApplication(
        USER_CLIENT_ID, authority=authority_of(USER_TENANT), token_cache=cache, http_client=fake)
    accounts = app.get_accounts()
    result = app.acquire_token_silent(USER_SCOPES, accounts[len(accounts) // 2])
    load = now_us() - t0
    expect_token(result, "the one-shot silent call")
    if len(accounts) != task["users"]:
        raise RuntimeError("get_accounts found %d of %d" % (len(accounts), task["users"]))
    return dict(facts=dict(loadUs=load, tokenRequests=fake.token_requests))


def loaded(path):
    cache = msal.SerializableTokenCache()
    cache.deserialize(read(path))
    return cache


def flat(task, spec, fake, ready):
    """The same hits on a hot set in a small and in a large cache, in alternation."""
    hot = task["hot"]
    if task["kind"] == "flat-cc":
        def app(path):
            return msal.ConfidentialClientApplication(
                DAEMON_CLIENT_ID, client_credential=DAEMON_SECRET, authority=authority_of(tenant_id(1)),
                token_cache=loaded(path), http_client=fake)
        small, large = app(task["smallFile"]), app(task["largeFile"])
        scopes = [[app_scope(r)] for r in range(hot)]
        for a in (small, large):
            for s in scopes:
                expect_token(a.acquire_token_silent(s, account=None), "priming")
        counter = [0]

        def call(a):
            def f():
                counter[0] += 1
                return a.acquire_token_silent(scopes[counter[0] % hot], account=None)
            return f
    else:
        def app(path):
            return msal.PublicClientApplication(
                USER_CLIENT_ID, authority=authority_of(USER_TENANT), token_cache=loaded(path), http_client=fake)
        small, large = app(task["smallFile"]), app(task["largeFile"])
        wanted = {"%s.%s" % ("00000000-0000-4000-9000-%012x" % i, USER_TENANT) for i in range(hot)}
        hot_accounts = {}
        for a in (small, large):
            accounts = [x for x in a.get_accounts() if x["home_account_id"] in wanted]
            if len(accounts) != hot:
                raise RuntimeError("found %d of the %d hot users" % (len(accounts), hot))
            hot_accounts[id(a)] = accounts
            for account in accounts:
                expect_token(a.acquire_token_silent(USER_SCOPES, account), "priming")
        counter = [0]

        def call(a):
            accounts = hot_accounts[id(a)]

            def f():
                counter[0] += 1
                return a.acquire_token_silent(USER_SCOPES, accounts[counter[0] % hot])
            return f
    fake.reset()
    ready()
    timings = time_interleaved(dict(small=call(small), large=call(large)), spec["plan"])
    if fake.token_requests:
        raise RuntimeError("token requests during cache hits")
    return dict(timings=timings)


def memory(task, spec, fake, ready):
    """Memory allocated by loading the cache and one hit (tracemalloc), the cache's text held throughout."""
    import tracemalloc
    text = read(task["cacheFile"])
    ready()
    gc.collect()
    tracemalloc.start()
    cache = msal.SerializableTokenCache()
    cache.deserialize(text)
    if task["what"] == "app-tokens":
        app = msal.ConfidentialClientApplication(
            DAEMON_CLIENT_ID, client_credential=DAEMON_SECRET, authority=authority_of(tenant_id(1)),
            token_cache=cache, http_client=fake)
        expect_token(app.acquire_token_silent([app_scope(0)], account=None), "the lookup")
    else:
        app = msal.PublicClientApplication(
            USER_CLIENT_ID, authority=authority_of(USER_TENANT), token_cache=cache, http_client=fake)
        account = app.get_accounts()[0]
        expect_token(app.acquire_token_silent(USER_SCOPES, account), "the lookup")
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dict(facts=dict(bytes=held, perEntry=held / task["entries"], entries=task["entries"],
                           textBytes=len(text.encode())))


TASKS = {
    "cc-hit": client_credentials, "cc-miss": client_credentials,
    "silent-hit": users, "silent-refresh": users, "get-accounts": users,
    "serialization": serialization, "concurrent-cold": concurrent_cold, "e2e": end_to_end,
    "one-shot": one_shot, "flat-cc": flat, "flat-silent": flat, "memory": memory,
}


def main():
    spec = json.loads(sys.stdin.read())
    emit("hello", library="msal-python", version=msal.__version__,
         runtime="Python %d.%d.%d" % sys.version_info[:3])
    for task in spec["tasks"]:
        fake = FakeIdp(spec["fake"])
        try:
            value = TASKS[task["kind"]](task, spec, fake, lambda: (gc.collect(), emit("ready", task=task["id"])))
            emit("result", task=task["id"], value=value)
        except Exception:
            emit("error", task=task["id"], message=traceback.format_exc())


if __name__ == "__main__":
    main()
