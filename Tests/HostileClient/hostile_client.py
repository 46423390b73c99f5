#!/usr/bin/env python3
"""The hostile-client suite: a running review site (`ktsx run` with `review_address` on loopback) attacked as
a client with a browser, raw sockets and patience would, bounded in count and time, loopback only.

Usage: hostile_client.py WORLD.json [SECTION ...]

WORLD.json says what the site holds (written by HostileClientTests, or by Benchmarks/review_under_load.py):
  port, user, password            a support user and its password
  throttleUser, throttlePassword  a second support user, whose name the throttle section locks
  routes                          {"GET": [paths], "POST": [paths]}: every route, ids filled in
  waiver                          a pending waiver's id (forged changes are tried on it; section own denies it)
  controlsReceipt                 a receipt whose cells hold control and direction characters
  controlCodesInCells, controlCodesInNames
                                  the codes (U+XXXX) of the characters in those cells and in rejected files' names
  linkedNames                     names of files linked into inbound/ from outside the tree (rejected, never read)
  largeReceipts, largeLastLine    receipts of large originals whose only error is on their last line
  secrets                         strings that must never appear in any answer (files outside the drop tree)
  clerk, clerkPassword            a participant's clerk (the controls receipt's sender) and its password
  foreignRoutes                   GET routes of the site with other organisations' ids filled in
  foreignMarks                    strings of other organisations (their files and receipts) no clerk page may show
  studentData                     strings from records that only a logged-in page may show

Sections (all by default): slow, flood, throttle, paths, methods, origins, hosts, clerk, own, originals, crawl, browser.
Prints JSON: for each section what was tried ("tried"), what failed ("violations", each a sentence) and its
figures. Exits 1 when any section has a violation.
"""
import html.parser
import json
import os
import random
import re
import socket
import statistics
import sys
import threading
import time

world = json.load(open(sys.argv[1]))
wanted = set(sys.argv[2:]) or {"slow", "flood", "throttle", "paths", "methods", "origins", "hosts", "clerk", "own", "originals", "crawl", "browser"}
PORT = world["port"]
SITE = f"127.0.0.1:{PORT}"
ORIGIN = f"http://{SITE}"
OPEN_PATHS = {"/login", "/healthz", "/metrics", "/style.css", "/favicon.ico"}


# ---------------------------------------------------------------------------------------------------------
# HTTP over raw sockets: the request goes out byte for byte as written (no client normalises a path, a
# method or a header), one request per connection.

class Answer:
    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def header(self, name):
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def cookies(self):
        found = {}
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                found[name.strip()] = rest.split(";")[0]
        return found

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def send(raw, source="127.0.0.1", timeout=20):
    """Sends raw request bytes from `source` and reads the answer to the end (None when the server closed
    without one)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", PORT), timeout=timeout, source_address=(source, 0)) as connection:
        connection.sendall(raw)
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            if answer_complete(data):
                break
    seconds = time.monotonic() - start
    if not data.startswith(b"HTTP/"):
        return None if not data else Answer(0, [], data, seconds)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
    answer = Answer(status, headers, body, seconds)
    length = answer.header("content-length")
    if length is not None and not raw.startswith(b"HEAD "):
        answer.body = body[: int(length)]
    return answer


def answer_complete(data):
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if match:
        return len(body) >= int(match.group(1)) or data.startswith(b"HEAD")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        return body.endswith(b"0\r\n\r\n")
    return False


def request(method, path, headers=None, body=b"", source="127.0.0.1", host=SITE, timeout=20):
    """A request with a Host (unless host is None), the given headers (a list of pairs, so a header may
    repeat) and a body with its length."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    return send(raw, source=source, timeout=timeout)


def form(fields):
    from urllib.parse import urlencode
    return urlencode(fields).encode()


def cookie_header(jar):
    return ("Cookie", "; ".join(f"{name}={value}" for name, value in jar.items()))


def login_form(source="127.0.0.1"):
    """The login page's token and cookie."""
    page = request("GET", "/login", source=source)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return {"ktsx_login": page.cookies()["ktsx_login"]}, token


def log_in(user, password, source="127.0.0.1", jar=None, token=None):
    """Logs in as a browser would (form token and its cookie, same origin); the answer and the jar."""
    if jar is None:
        jar, token = login_form(source)
    answer = request(
        "POST", "/login", [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded")],
        form({"username": user, "password": password, "token": token, "next": "/submissions"}), source=source)
    session = answer.cookies().get("ktsx_session")
    return answer, ({"ktsx_session": session} if session else None)


def form_token(jar, path="/submissions"):
    """The session's form token, read off a page."""
    return re.search(r'name="csrf" value="([^"]+)"', request("GET", path, [cookie_header(jar)]).text).group(1)


def waiver_status(jar):
    page = request("GET", f"/waivers/{world['waiver']}", [cookie_header(jar)]).text
    return re.search(r'id="status"[^>]*>([^<]*)<', page).group(1).strip()


def logged_in(jar):
    """Whether the session still opens a page."""
    return request("GET", "/status", [cookie_header(jar)]).status == 200


report = {}


def section(name):
    def register(function):
        if name in wanted:
            report[name] = {"tried": 0, "violations": []}
            sections.append((name, function))
        return function
    return register


sections = []


# ---------------------------------------------------------------------------------------------------------
# Slow and idle clients, in the background while the rest runs: each must be cut off (30 s idle timeout).

def slow_probe(name, first, trickle, results, limit=45):
    s = socket.create_connection(("127.0.0.1", PORT), source_address=("127.0.0.3", 0))
    s.settimeout(1)
    start = time.monotonic()
    if first:
        s.sendall(first)
    while time.monotonic() - start < limit:
        try:
            if s.recv(4096) == b"":
                results[name] = round(time.monotonic() - start, 1)
                return
        except socket.timeout:
            pass
        except OSError:
            results[name] = round(time.monotonic() - start, 1)
            return
        try:
            if trickle:
                s.sendall(trickle)
        except OSError:
            results[name] = round(time.monotonic() - start, 1)
            return
    results[name] = None


slow_results = {}
slow_threads = []
if "slow" in wanted:
    report["slow"] = {"tried": 3, "violations": []}
    for arguments in [
        ("idle", b"", b""),
        ("slow-header", f"GET /healthz HTTP/1.1\r\nHost: {SITE}\r\n".encode(), b"X"),
        ("slow-body", f"POST /login HTTP/1.1\r\nHost: {SITE}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      f"Content-Length: 100000\r\n\r\n".encode(), b"a"),
    ]:
        thread = threading.Thread(target=slow_probe, args=arguments + (slow_results,))
        thread.start()
        slow_threads.append(thread)


# ---------------------------------------------------------------------------------------------------------

@section("flood")
def login_flood(result):
    """A flood of bad logins from one address (unknown names: each costs a full bcrypt check of the decoy)
    while the real user logs in from another: the real login waits for at most the one check before it."""
    def timed_login(user, password, source):
        jar, token = login_form(source)
        start = time.monotonic()
        answer, session = log_in(user, password, source, jar, token)
        return time.monotonic() - start, answer.status

    alone_real = [timed_login(world["user"], world["password"], "127.0.0.1") for _ in range(3)]
    alone_bad = [timed_login(f"nobody-{n}", "wrong", "127.0.0.2") for n in range(3)]
    stop = threading.Event()
    flood_statuses = []

    def flood(worker):
        while not stop.is_set():
            try:
                jar, token = login_form("127.0.0.2")
                answer, _ = log_in(f"flood-{worker}-{random.randrange(10**9)}", "wrong", "127.0.0.2", jar, token)
                flood_statuses.append(answer.status)
            except OSError as error:
                flood_statuses.append(str(error))

    threads = [threading.Thread(target=flood, args=(worker,)) for worker in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during = []
    for _ in range(5):
        during.append(timed_login(world["user"], world["password"], "127.0.0.1"))
        time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    # Measured again after the flood: on a machine shared with other tests the checks slow down and speed
    # up; the slower of the two measures is the yardstick.
    after_real = [timed_login(world["user"], world["password"], "127.0.0.1") for _ in range(3)]
    after_bad = [timed_login(f"nobody-after-{n}", "wrong", "127.0.0.2") for n in range(3)]
    real = max(statistics.median(seconds for seconds, _ in measured) for measured in (alone_real, after_real))
    slot = max(statistics.median(seconds for seconds, _ in measured) for measured in (alone_bad, after_bad))
    waited = statistics.median(seconds for seconds, _ in during)
    result.update({
        "tried": len(flood_statuses) + len(during),
        "realLoginAloneSeconds": round(real, 3), "badLoginAloneSeconds": round(slot, 3),
        "realLoginDuringFloodSeconds": [round(seconds, 3) for seconds, _ in during],
        "realLoginDuringFloodMedian": round(waited, 3),
        "floodStatuses": {str(status): flood_statuses.count(status) for status in set(flood_statuses)},
    })
    if any(status != 303 for _, status in during):
        result["violations"].append(f"a real login during the flood was answered {[status for _, status in during]}")
    if any(status not in (401, 503) for status in flood_statuses):
        result["violations"].append(f"the flood was answered other than 401 or 503: {result['floodStatuses']}")
    # One bcrypt slot: the real login's own check plus the one flood check before it, with a second slot and
    # 0.3 s for the noise of a machine shared with the other tests (the full suite slowed the flood's checks
    # to about twice what they took just before and after). A login queued behind the flood's twelve
    # clients would wait about twelve slots.
    if waited > real + 2 * slot + 0.3:
        result["violations"].append(
            f"a real login took {waited:.2f} s during the flood: more than its own check ({real:.2f} s) and one other ({slot:.2f} s)")


@section("throttle")
def concurrent_logins(result):
    """Thirty logins for one name at once from thirty addresses (29 wrong, 1 right): at most five reach the
    password check; afterwards even the right password is refused for the name."""
    forms = [login_form(f"127.0.1.{n + 1}") for n in range(30)]
    statuses = [None] * 30
    sessions = [None] * 30
    barrier = threading.Barrier(30)

    def attempt(n):
        jar, token = forms[n]
        password = world["throttlePassword"] if n == 17 else f"guess {n}"
        barrier.wait()
        answer, session = log_in(world["throttleUser"], password, f"127.0.1.{n + 1}", jar, token)
        statuses[n], sessions[n] = answer.status, session

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [status for status in statuses if status in (401, 303)]
    result["tried"] = 31
    result["statuses"] = {str(status): statuses.count(status) for status in set(statuses)}
    if len(checked) > 5:
        result["violations"].append(f"{len(checked)} of 30 concurrent logins reached the password check: {result['statuses']}")
    if any(status not in (401, 303, 429, 503) for status in statuses):
        result["violations"].append(f"concurrent logins answered {result['statuses']}")
    if any(session for n, session in enumerate(sessions) if n != 17):
        result["violations"].append("a wrong password got a session")
    after, session = log_in(world["throttleUser"], world["throttlePassword"], "127.0.1.99")
    result["rightPasswordAfter"] = after.status
    if statuses[17] != 303 and (after.status != 429 or session):
        result["violations"].append(f"after five failures the right password was answered {after.status}")


def paths_of(method):
    return world["routes"][method]


def traversal_variants(path):
    """Ways to reach `path` (or a file outside the site) that a careless router or gate lets through."""
    receipt = world["controlsReceipt"]
    return [
        path, "/" + path, path + "/", path + ";x", path.upper(), path + "%2f", "/." + path, path + "?next=//evil.example",
        "/healthz/.." + path, "/login/.." + path, "/style.css/.." + path, "/metrics%2f..%2f" + path.lstrip("/"),
        "/healthz%00" + path, "/login%3f/.." + path, path.replace("/", "%2f"), path.replace("/", "\\"),
        "/%2e%2e/%2e%2e" + path, "/./" + path.lstrip("/"),
        "/receipts/..%2f..%2f..%2f..%2fetc%2fpasswd", "/receipts/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/receipts/....//....//etc/passwd", "/receipts/%252e%252e%252fetc%252fpasswd", "/receipts/..\\..\\etc\\passwd",
        "/receipts/%c0%ae%c0%ae%2fetc%2fpasswd", "/receipts/%00", "/receipts/" + "A" * 6000, "/receipts/../../../../etc/passwd",
        f"/receipts/{receipt}%00.html", f"/receipts/{receipt}/../../../etc/passwd", "/waivers/..%2f..%2fstate%2fledger.sqlite",
        "/style.css%00.html", "/favicon.ico/../../etc/passwd", "/..;/status", "/%5c..%5cstatus",
    ]


def must_not_show(answer, logged, where, result):
    """The checks every answer passes: no 5xx, nothing from outside the tree, student data only with a login."""
    if answer is None:
        return
    if answer.status >= 500 and answer.status != 503:
        result["violations"].append(f"{where}: answered {answer.status}")
    for secret in world["secrets"]:
        if secret in answer.text:
            result["violations"].append(f"{where}: showed a file outside the drop tree ({secret[:12]}…)")
    if "root:x:0:0" in answer.text:
        result["violations"].append(f"{where}: showed /etc/passwd")
    if not logged:
        for value in world["studentData"]:
            if value in answer.text:
                result["violations"].append(f"{where}: showed student data without a login")


@section("paths")
def path_tricks(result):
    """Path tricks on every route, without a login and with one."""
    _, jar = log_in(world["user"], world["password"])
    # The variants of every route, each path once (the tricks aimed outside the site are the same for all).
    paths = list(dict.fromkeys(path for route in paths_of("GET") + paths_of("POST") for path in traversal_variants(route)))
    for path in paths:
        for logged in (False, True):
            headers = [cookie_header(jar)] if logged else []
            answer = request("GET", path, headers)
            result["tried"] += 1
            where = f"GET {path[:80]} ({'logged in' if logged else 'no login'})"
            must_not_show(answer, logged, where, result)
            if answer and not logged and answer.status == 200:
                base = path.split("?")[0]
                if base not in OPEN_PATHS:
                    result["violations"].append(f"{where}: a page without a login")
    if request("GET", "/healthz").status != 200:
        result["violations"].append("the site stopped answering after the path tricks")


METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO", "get", "G\x00ET"]


@section("methods")
def method_tricks(result):
    """Every method on every route, logged in with the form token and the site's own origin (the most a
    client can hold): only GET and HEAD on pages and POST on changes do anything; no other method changes
    the waiver; TRACE echoes nothing."""
    _, jar = log_in(world["user"], world["password"])
    csrf = form_token(jar)
    before = waiver_status(jar)
    for route in paths_of("GET") + [p for p in paths_of("POST") if p != "/logout"]:
        allowed = {"GET", "HEAD"} if route in paths_of("GET") else {"POST"}
        for method in METHODS:
            if method in allowed and route not in paths_of("GET"):
                continue  # the real change: tried, from the site itself, by the origins section
            body = form({"csrf": csrf, "decision": "approve", "reason": "method trick"}) if method not in ("GET", "HEAD") else b""
            headers = [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded"),
                       ("X-Secret-Header", "do-not-echo")]
            answer = request(method, route, headers, body)
            result["tried"] += 1
            where = f"{method!r} {route}"
            must_not_show(answer, True, where, result)
            if answer is None:
                continue
            if method not in allowed and answer.status < 400:
                result["violations"].append(f"{where}: answered {answer.status}")
            if method == "TRACE" and "do-not-echo" in answer.text:
                result["violations"].append(f"{where}: echoed the request")
        # A GET that claims to be another method through an override header is still a GET.
        for override in ("POST", "DELETE", "PUT"):
            answer = request("GET", route, [cookie_header(jar), ("X-HTTP-Method-Override", override), ("X-Method-Override", override)])
            result["tried"] += 1
            must_not_show(answer, True, f"GET {route} overridden to {override}", result)
    after = waiver_status(jar)
    result["waiver"] = [before, after]
    if after != before:
        result["violations"].append(f"a method trick changed the waiver: {before} -> {after}")
    if not logged_in(jar):
        result["violations"].append("a method trick ended the session")


ORIGIN_VARIANTS = [
    "http://evil.example", "null", f"https://{SITE}", f"http://127.0.0.1:{PORT + 1}", f"http://{SITE}.evil.example",
    f"http://{SITE}@evil.example", f"http://evil.example/{SITE}", f"ftp://{SITE}", f"file://{SITE}", f"http://localhost:{PORT}",
    f"http://[::1]:{PORT}", "http://127.0.0.1", f"http://127.0.0.2:{PORT}", f"ws://{SITE}", f"http://{SITE}:{PORT}",
]


@section("origins")
def origin_tricks(result):
    """Every change (log in, log out, decide a waiver) with another Origin or Referer (host, port or scheme
    other than the site's): refused, and nothing changed. Then the same changes from the site itself do
    what they say (so the checks can fail)."""
    _, jar = log_in(world["user"], world["password"])
    csrf = form_token(jar)
    for variant in ORIGIN_VARIANTS:
        for header in ("Origin", "Referer"):
            claimed = variant if header == "Origin" else variant + "/waivers"
            # Log in.
            login_jar, token = login_form()
            answer = request("POST", "/login", [cookie_header(login_jar), (header, claimed), ("Content-Type", "application/x-www-form-urlencoded")],
                             form({"username": world["user"], "password": world["password"], "token": token}))
            result["tried"] += 1
            if answer.status < 400 or "ktsx_session" in answer.cookies():
                result["violations"].append(f"POST /login with {header} {claimed}: answered {answer.status}")
            # Decide the waiver.
            answer = request("POST", f"/waivers/{world['waiver']}/decision",
                             [cookie_header(jar), (header, claimed), ("Content-Type", "application/x-www-form-urlencoded")],
                             form({"csrf": csrf, "decision": "approve", "reason": "forged"}))
            result["tried"] += 1
            if answer.status < 400:
                result["violations"].append(f"POST decision with {header} {claimed}: answered {answer.status}")
            # Log out.
            answer = request("POST", "/logout", [cookie_header(jar), (header, claimed), ("Content-Type", "application/x-www-form-urlencoded")],
                             form({"csrf": csrf}))
            result["tried"] += 1
            if answer.status < 400:
                result["violations"].append(f"POST /logout with {header} {claimed}: answered {answer.status}")
    # Without the form token, or with another session's, from the site's own origin.
    _, other = log_in(world["user"], world["password"])
    for token in ["", "guess", form_token(other), csrf + "x"]:
        answer = request("POST", f"/waivers/{world['waiver']}/decision",
                         [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded")],
                         form({"csrf": token, "decision": "approve", "reason": "forged"}))
        result["tried"] += 1
        if answer.status < 400:
            result["violations"].append(f"POST decision with form token {token[:6]!r}…: answered {answer.status}")
    status = waiver_status(jar)
    if status != "pending":
        result["violations"].append(f"a forged change decided the waiver ({status})")
    if not logged_in(jar):
        result["violations"].append("a forged logout ended the session")
    # The site's own changes work: the checks above refused for the reason they name, not for any reason.
    answer, session = log_in(world["user"], world["password"])
    if answer.status != 303 or not session:
        result["violations"].append(f"a login from the site itself was answered {answer.status}")
    result["ownLogin"] = answer.status


HOST_VARIANTS = [
    "evil.example", f"evil.example:{PORT}", f"{SITE}.evil.example", "127.0.0.1", f"127.0.0.1:{PORT + 1}", "",
    f"127.0.0.1.:{PORT}", f"localhost.:{PORT}", f"{SITE}@evil.example", f"evil.example#{SITE}", f"127.0.0.2:{PORT}",
    f"{SITE} evil.example",
]


@section("hosts")
def host_tricks(result):
    """Every page and every change asked for under a name that is not the site's (DNS rebinding: the
    browser's Origin then names the attacker's host too), a request without a Host, with two, and with an
    absolute target naming the site under another Host: refused (421 or 400), open pages included; the
    waiver unchanged."""
    _, jar = log_in(world["user"], world["password"])
    csrf = form_token(jar)
    for host in HOST_VARIANTS:
        for route in paths_of("GET"):
            answer = request("GET", route, [cookie_header(jar)], host=host)
            result["tried"] += 1
            must_not_show(answer, False, f"GET {route} Host {host!r}", result)
            if answer is not None and answer.status < 400:
                result["violations"].append(f"GET {route} with Host {host!r}: answered {answer.status}")
        for route in paths_of("POST"):
            answer = request("POST", route, [cookie_header(jar), ("Origin", f"http://{host}"), ("Content-Type", "application/x-www-form-urlencoded")],
                             form({"csrf": csrf, "decision": "approve", "reason": "rebound"}), host=host)
            result["tried"] += 1
            if answer is not None and answer.status < 400:
                result["violations"].append(f"POST {route} with Host {host!r}: answered {answer.status}")
    for route in paths_of("GET"):
        for headers, host, target in [
            ([cookie_header(jar)], None, route),
            ([cookie_header(jar), ("Host", "evil.example")], SITE, route),
            ([cookie_header(jar), ("Host", SITE)], "evil.example", route),
            ([cookie_header(jar)], "evil.example", f"http://{SITE}{route}"),
        ]:
            answer = request("GET", target, headers, host=host)
            result["tried"] += 1
            must_not_show(answer, False, f"GET {target} with {headers[1:] or 'no Host'}", result)
            if answer is not None and answer.status < 400:
                result["violations"].append(f"GET {target} (Host {host!r}, {len(headers) - 1} more): answered {answer.status}")
    if waiver_status(jar) != "pending":
        result["violations"].append("a request under another host decided the waiver")


@section("clerk")
def clerk_tricks(result):
    """A participant's clerk, whose pages are under /my only: every route and its path tricks with the clerk's
    session never open one of support's pages (they link /status) nor show another organisation's files; every
    route with another organisation's ids is not found; every change of support's is refused, the waiver
    unchanged; and the clerk's own home opens (so the refusals came from the checks)."""
    _, jar = log_in(world["clerk"], world["clerkPassword"])
    if request("GET", "/my", [cookie_header(jar)]).status != 200:
        result["violations"].append("the clerk's own home did not open")
        return
    csrf = form_token(jar, "/my/check")

    def check(answer, where):
        must_not_show(answer, True, where, result)
        if answer is None:
            return
        if answer.status == 200 and 'href="/status"' in answer.text:
            result["violations"].append(f"{where}: a clerk saw one of support's pages")
        for mark in world["foreignMarks"]:
            if mark in answer.text:
                result["violations"].append(f"{where}: a clerk saw another organisation's {mark[:40]}")

    paths = list(dict.fromkeys(path for route in paths_of("GET") for path in traversal_variants(route)))
    for path in paths:
        answer = request("GET", path, [cookie_header(jar)])
        result["tried"] += 1
        check(answer, f"GET {path[:80]} (clerk)")
    for uri in world["foreignRoutes"]:
        answer = request("GET", uri, [cookie_header(jar)])
        result["tried"] += 1
        check(answer, f"GET {uri[:80]} (clerk)")
        if answer is not None and answer.status != 404:
            result["violations"].append(f"GET {uri[:80]} (clerk): answered {answer.status}, not 404")
    for route in paths_of("POST"):
        if route in ("/login", "/logout") or route.startswith("/my"):
            continue
        answer = request("POST", route, [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded")],
                         form({"csrf": csrf, "decision": "approve", "reason": "a clerk's try"}))
        result["tried"] += 1
        check(answer, f"POST {route} (clerk)")
        if answer is not None and answer.status < 400:
            result["violations"].append(f"POST {route} (clerk): answered {answer.status}")
    _, support = log_in(world["user"], world["password"])
    if waiver_status(support) != "pending":
        result["violations"].append("a clerk decided the waiver")


@section("own")
def own_changes(result):
    """The changes the sections above forged, made from the site itself: the waiver is decided and the
    session ends. (So the refusals above came from the checks they try, not from a site that refuses all.)"""
    _, jar = log_in(world["user"], world["password"])
    csrf = form_token(jar)
    answer = request("POST", f"/waivers/{world['waiver']}/decision",
                     [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded")],
                     form({"csrf": csrf, "decision": "deny", "reason": "Denied after the hostile-client suite."}))
    result["tried"] = 2
    status = waiver_status(jar)
    result["decision"] = [answer.status, status]
    if answer.status != 303 or status != "denied":
        result["violations"].append(f"the site's own decision was answered {answer.status}, the waiver is {status}")
    answer = request("POST", "/logout", [cookie_header(jar), ("Origin", ORIGIN), ("Content-Type", "application/x-www-form-urlencoded")],
                     form({"csrf": csrf}))
    if answer.status != 303 or logged_in(jar):
        result["violations"].append(f"the site's own logout was answered {answer.status} and left the session open")


@section("originals")
def large_originals(result):
    """Six views of large originals at once (each must read to its last line) while /healthz is asked every
    50 ms: every view shows the error row, /healthz always answers; its latencies are the figures (with
    Benchmarks/review_under_load.py: six originals of 100 MB)."""
    _, jar = log_in(world["user"], world["password"])
    views = [None] * 6
    stop = threading.Event()
    health = []

    def view(n):
        receipts = world["largeReceipts"]
        views[n] = request("GET", f"/receipts/{receipts[n % len(receipts)]}", [cookie_header(jar)], timeout=600)

    def poll():
        while not stop.is_set():
            answer = request("GET", "/healthz", timeout=30)
            health.append((answer.seconds if answer else 30, answer.status if answer else None))
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    start = time.monotonic()
    threads = [threading.Thread(target=view, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    stop.set()
    poller.join()
    latencies = sorted(seconds for seconds, _ in health)
    result.update({
        "tried": len(views) + len(health),
        "viewsSeconds": [round(view.seconds, 2) for view in views if view],
        "allViewsSeconds": round(elapsed, 2),
        "healthzCount": len(health),
        "healthzMillis": {
            "p50": round(1000 * latencies[len(latencies) // 2], 1),
            "p95": round(1000 * latencies[int(len(latencies) * 0.95)], 1),
            "max": round(1000 * latencies[-1], 1),
        },
    })
    for n, answer in enumerate(views):
        if answer is None or answer.status != 200 or f'id="line-{world["largeLastLine"]}"' not in answer.text:
            result["violations"].append(f"view {n} of the large original did not show its last line ({answer and answer.status})")
    if any(status != 200 for _, status in health):
        result["violations"].append(f"/healthz failed during the views: {[status for _, status in health if status != 200][:5]}")


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attributes):
        for name, value in attributes:
            if name == "href" and value and value.startswith("/") and not value.startswith("//"):
                self.links.append(value)


@section("crawl")
def crawl(result):
    """Every page reachable from the submissions list, logged in: nothing from the files linked into
    `inbound/` from outside the tree (hard and symbolic links) is ever shown."""
    _, jar = log_in(world["user"], world["password"])
    seen, queue = set(), ["/submissions", "/submissions?outcome=rejected", "/status", "/deliveries", "/quiet", "/waivers"]
    while queue and len(seen) < 400:
        path = queue.pop(0)
        if path in seen or path.startswith("/logout"):
            continue
        seen.add(path)
        answer = request("GET", path, [cookie_header(jar)])
        result["tried"] += 1
        must_not_show(answer, True, f"GET {path}", result)
        parser = Links()
        parser.feed(answer.text)
        queue.extend(link.replace("&amp;", "&") for link in parser.links if link not in seen)
    result["pages"] = len(seen)
    listing = request("GET", "/submissions?outcome=rejected", [cookie_header(jar)]).text
    for name in world.get("linkedNames", []):
        if name not in listing:
            result["violations"].append(f"the linked file {name} is not among the rejected submissions")


@section("browser")
def browser(result):
    """Control and direction characters in a file name and in its cells, as Chromium shows them: never raw
    (U+202E would reverse the text that follows), always as their code."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Browser"))
    from page_waits import left_page
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-US"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    raw = {"\u202e": "U+202E", "\u202d": "U+202D", "\u2066": "U+2066", "\u2069": "U+2069", "\u200f": "U+200F",
           "\x07": "U+0007", "\x00": "U+0000", "\x1b": "U+001B"}
    try:
        driver.get(ORIGIN + "/login")
        driver.find_element(By.NAME, "username").send_keys(world["user"])
        driver.find_element(By.NAME, "password").send_keys(world["password"])
        button = driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]")
        button.click()
        WebDriverWait(driver, 20).until(left_page(button))
        for page in ["/submissions?outcome=rejected", f"/receipts/{world['controlsReceipt']}"]:
            driver.get(ORIGIN + page)
            shown = driver.execute_script("return document.title + '\\n' + document.body.innerText")
            result["tried"] += 1
            for character, code in raw.items():
                if character in shown:
                    result["violations"].append(f"{page}: {code} is in the text Chromium shows")
            result.setdefault("shown", {})[page] = sorted(set(re.findall(r"⟨U\+[0-9A-F]{4}⟩", shown)))
        for page, expected in [("/submissions?outcome=rejected", world["controlCodesInNames"]),
                               (f"/receipts/{world['controlsReceipt']}", world["controlCodesInCells"])]:
            missing = [code for code in expected if f"⟨{code}⟩" not in result["shown"][page]]
            if missing:
                result["violations"].append(f"{page} does not show {missing} by their code")
    finally:
        driver.quit()


for name, function in sections:
    started = time.monotonic()
    try:
        function(report[name])
    except Exception as error:  # a section that breaks is a finding, not the end of the suite
        report[name]["violations"].append(f"the section stopped: {type(error).__name__}: {error}")
    report[name]["seconds"] = round(time.monotonic() - started, 1)

for thread in slow_threads:
    thread.join()
if "slow" in wanted:
    report["slow"]["closedAfterSeconds"] = slow_results
    for name in ("idle", "slow-header", "slow-body"):
        if slow_results.get(name) is None or slow_results[name] > 35:
            report["slow"]["violations"].append(f"the {name} connection stayed open ({slow_results.get(name)})")

print(json.dumps(report, indent=1, ensure_ascii=False))
sys.exit(1 if any(part["violations"] for part in report.values()) else 0)
