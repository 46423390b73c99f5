"""Waits shared by the browser tests (review_page.py, and the hostile-client suite's browser section)."""

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException


def left_page(element):
    """A wait condition: `element`'s page is gone. Chromium says so either as a stale element or, when the
    check lands while the next page replaces it, as a node that "does not belong to the document"."""
    def check(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
    return check
