#!/usr/bin/env python3
"""Drives a participant's own pages of a running `ktsx run` in headless Chromium (Selenium), as the clerks of a
high school and of a technical center would, and prints what it saw as JSON.

Usage: participant_pages.py PLAN.json

PLAN.json (written by ParticipantPagesBrowserTests):
  base                      the site, http://127.0.0.1:PORT
  school, center            {"user", "password"} of a high school's clerk and a center's clerk
  rejected                  the high school's rejected receipt
  checkFile                 a file to check before sending (the rejected file's bytes)
  week                      {"from", "to"}: the attendance report's days
  rosterDay                 the day of the center's roster
  foreign                   {"school": [uris], "center": [uris]}: every GET route of the site with the other
                            organisations' ids filled in, for each clerk to try
  forbidden                 {"school": [texts], "center": [texts]}: what each clerk's pages must never show
  downloads, shots          folders for the export and the screenshots

1. The high school's clerk logs in and lands on its home (charts): screenshot `participant-home.png`.
2. Its submissions, the rejected file with each error beside its row: `participant-rejection.png`.
3. Checks a file before sending: chosen in the file input, judged on the page: `participant-check.png`.
4. The attendance report for the week: `participant-attendance.png`; the CSV export downloaded.
5. Every route with another organisation's ids: none shows that organisation's data.
6. The center's clerk: its roster on a day, students without attendance marked: `participant-roster.png`; the
   same walk over the other organisations' ids.
"""
import csv
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_waits import left_page  # noqa: E402

plan = json.load(open(sys.argv[1]))
base = plan["base"]
seen = {}

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1150",
                 "--force-device-scale-factor=1", "--lang=en-US"]:
    options.add_argument(argument)
options.add_experimental_option("prefs", {"download.default_directory": plan["downloads"], "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def submit(button):
    """Clicks a form's button and waits until the browser has left the page."""
    button.click()
    WebDriverWait(driver, 20).until(left_page(button))


def log_in(account):
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(account["user"])
    driver.find_element(By.NAME, "password").send_keys(account["password"])
    submit(driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]"))


def log_out():
    driver.get(base + "/my")
    submit(driver.find_element(By.CSS_SELECTOR, "form.logout button"))


def walk(who):
    """Every route with the other organisations' ids: what each page showed that it must not."""
    leaks, pages = [], 0
    for uri in plan["foreign"][who]:
        driver.get(base + uri)
        pages += 1
        shown = driver.find_element(By.TAG_NAME, "body").text + driver.page_source
        for text in plan["forbidden"][who]:
            if text in shown:
                leaks.append(f"{uri} shows {text}")
    return {"pages": pages, "leaks": leaks}


def text(selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else None


try:
    # 1. The high school's clerk.
    log_in(plan["school"])
    seen["schoolLanding"] = driver.current_url
    seen["schoolNav"] = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "header nav a")]
    seen["homeCharts"] = [figure.find_element(By.TAG_NAME, "figcaption").text for figure in driver.find_elements(By.CSS_SELECTOR, "figure.chart")]
    driver.save_screenshot(f"{plan['shots']}/participant-home.png")

    # 2. Its files, the rejection beside its rows.
    driver.find_element(By.LINK_TEXT, "Files sent").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/my/submissions"))
    seen["submissions"] = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
    driver.get(base + f"/my/receipts/{plan['rejected']}")
    seen["rejection"] = {
        "outcome": text("#outcome"),
        "offending": [row.get_attribute("id") for row in driver.find_elements(By.CSS_SELECTOR, "#rows tr.offending")],
        "faulty": [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#rows .cell.faulty")],
        "help": text("#code-help"),
    }
    driver.save_screenshot(f"{plan['shots']}/participant-rejection.png")

    # 3. A file checked before sending.
    driver.get(base + "/my/check")
    driver.find_element(By.NAME, "file").send_keys(plan["checkFile"])
    submit(driver.find_element(By.CSS_SELECTOR, "form.check button[type=submit]"))
    seen["check"] = {
        "outcome": text("#outcome"),
        "summary": text("#summary"),
        "offending": [row.get_attribute("id") for row in driver.find_elements(By.CSS_SELECTOR, "#rows tr.offending")],
    }
    driver.save_screenshot(f"{plan['shots']}/participant-check.png")

    # 4. The attendance report for the week, and its export.
    week = plan["week"]
    driver.get(base + f"/my/attendance?from={week['from']}&to={week['to']}")
    seen["attendance"] = {
        "totals": text("#totals"),
        "students": len(driver.find_elements(By.CSS_SELECTOR, "h2.student")),
        "unknown": len(driver.find_elements(By.CSS_SELECTOR, "table.attendance .badge.unknown")),
        "resolved": len(driver.find_elements(By.CSS_SELECTOR, "table.attendance .badge.resolved")),
    }
    driver.save_screenshot(f"{plan['shots']}/participant-attendance.png")
    driver.find_element(By.ID, "export").click()
    expected = os.path.join(plan["downloads"], f"attendance_{plan['schoolOrgId']}_{week['from']}_{week['to']}.csv")
    for _ in range(100):
        if os.path.exists(expected):
            break
        time.sleep(0.1)
    with open(expected, newline="", encoding="utf-8") as exported:
        rows = list(csv.reader(exported))
    seen["export"] = {"header": rows[0], "rows": len(rows) - 1,
                      "unknown": sum(1 for row in rows[1:] if row[rows[0].index("unknownExcuse")] == "unknown")}
    seen["schoolWalk"] = walk("school")
    log_out()

    # 5. The center's clerk: its roster.
    log_in(plan["center"])
    seen["centerLanding"] = driver.current_url
    seen["centerNav"] = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "header nav a")]
    driver.get(base + f"/my/roster?date={plan['rosterDay']}")
    seen["roster"] = {
        "summary": text("#roster-summary"),
        "sections": len(driver.find_elements(By.CSS_SELECTOR, "h2.section")),
        "students": len(driver.find_elements(By.CSS_SELECTOR, "table.roster tbody tr")),
        "missing": len(driver.find_elements(By.CSS_SELECTOR, "table.roster tr.missing")),
    }
    driver.save_screenshot(f"{plan['shots']}/participant-roster.png")
    seen["centerWalk"] = walk("center")
    log_out()
except Exception:
    print(f"at {driver.current_url}:\n{driver.find_element(By.TAG_NAME, 'body').text[:2000]}", file=sys.stderr)
    raise
finally:
    driver.quit()

print(json.dumps(seen, indent=1))
