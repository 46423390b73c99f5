#!/usr/bin/env python3
"""Drives the review page of a running `ktsx run` in headless Chromium (Debian's chromium and
chromium-driver, through Selenium), as a support person would, and prints what it saw as JSON.

Usage: review_page.py BASE_URL USER PASSWORD REJECTED_RECEIPT WAIVER_ID SCREENSHOT_DIR

1. Without a login: every page leads to the login form, and a change (POST) is refused (403).
2. Logs in through the form.
3. Opens the rejected file's page: each error beside its row; screenshot `review-rejection.png`.
4. Opens the waiver request, types a reason, approves it: the decision shows; screenshot
   `review-waiver.png`.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from page_waits import left_page

base, user, password, rejected, waiver, shots = sys.argv[1:7]
seen = {}

# The service has just been started: wait for it to serve.
for attempt in range(100):
    try:
        seen["health"] = json.loads(urllib.request.urlopen(base + "/healthz", timeout=2).read())
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit(f"the review page at {base} did not answer /healthz")

# 1. Without a login (plain HTTP, no browser state): pages redirect to the login form, changes are 403.
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

opener = urllib.request.build_opener(NoRedirect)
pages = ["/", "/submissions", f"/receipts/{rejected}", "/deliveries", "/quiet", "/waivers", f"/waivers/{waiver}", "/status"]
refused = {}
for page in pages:
    try:
        response = opener.open(base + page)
        refused[page] = {"status": response.status, "body": response.read().decode("utf-8", "replace")[:200]}
    except urllib.error.HTTPError as error:
        refused[page] = {"status": error.code, "location": error.headers.get("Location", "")}
for action in ["/logout", f"/waivers/{waiver}/decision"]:
    request = urllib.request.Request(base + action, data=b"decision=approve&reason=x&csrf=guess", method="POST")
    try:
        refused["POST " + action] = {"status": opener.open(request).status}
    except urllib.error.HTTPError as error:
        refused["POST " + action] = {"status": error.code}
seen["withoutLogin"] = refused
# Metrics are open and carry counts by type and outcome, never a name or a file.
seen["metrics"] = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode("utf-8")

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1150",
                 "--force-device-scale-factor=1", "--lang=en-US"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def submit(button):
    """Clicks a form's button and waits until the browser has left the page."""
    button.click()
    WebDriverWait(driver, 20).until(left_page(button))

try:
    # In the browser too, a page without a login lands on the login form.
    driver.get(base + f"/receipts/{rejected}")
    seen["beforeLoginUrl"] = driver.current_url
    seen["beforeLoginHasRows"] = len(driver.find_elements(By.ID, "rows")) > 0

    # 2. Log in.
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    submit(driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]"))
    seen["afterLoginUrl"] = driver.current_url

    # 3. The rejection.
    driver.get(base + f"/receipts/{rejected}")
    seen["rejection"] = {
        "title": driver.find_element(By.TAG_NAME, "h1").text,
        "outcome": driver.find_element(By.ID, "outcome").text,
        "offending": [
            {
                "line": row.find_element(By.CSS_SELECTOR, "td.number").text,
                "row": row.find_element(By.CSS_SELECTOR, "td.text").text,
                "errors": row.find_elements(By.CSS_SELECTOR, "td")[2].text,
                "faulty": ",".join(cell.text for cell in row.find_elements(By.CSS_SELECTOR, ".cell.faulty")),
            }
            for row in driver.find_elements(By.CSS_SELECTOR, "#rows tr.offending")
        ],
        "context": [row.get_attribute("id") for row in driver.find_elements(By.CSS_SELECTOR, "#rows tr.context")],
    }
    driver.save_screenshot(f"{shots}/review-rejection.png")

    # 4. The waiver decision.
    driver.get(base + "/waivers")
    submit(driver.find_element(By.CSS_SELECTOR, f"a[href='/waivers/{waiver}']"))
    seen["waiverBefore"] = driver.find_element(By.ID, "status").text
    driver.find_element(By.NAME, "reason").send_keys("Approved: the district's own SIS export covers every school.")
    submit(driver.find_element(By.CSS_SELECTOR, "button[name=decision][value=approve]"))
    seen["waiverAfter"] = {
        "url": driver.current_url,
        "status": driver.find_element(By.ID, "status").text,
        "reason": driver.find_element(By.ID, "decision-reason").text,
        "page": driver.find_element(By.TAG_NAME, "main").text,
        "formLeft": len(driver.find_elements(By.CSS_SELECTOR, "form.decision")) > 0,
    }
    driver.save_screenshot(f"{shots}/review-waiver.png")

    # Logging out ends the session: the pages are refused again.
    submit(driver.find_element(By.CSS_SELECTOR, "form.logout button"))
    driver.get(base + "/waivers")
    seen["afterLogoutUrl"] = driver.current_url
except Exception:
    # Say where the browser was and what it showed, for whoever reads the test's failure.
    print(f"at {driver.current_url}:\n{driver.find_element(By.TAG_NAME, 'body').text[:2000]}", file=sys.stderr)
    raise
finally:
    driver.quit()

print(json.dumps(seen, indent=1))
