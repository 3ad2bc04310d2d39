"""Page helpers for Airflow 3.3's React UI: Admin -> Connections, the add/edit dialog, Test.

Only what a user sees and does: menus, labels, inputs, buttons, toasts. The one extra is a
recorder of the UI's own XHRs, so a failed Test can be told apart from an Airflow-side 400.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

_XHR_RECORDER = """
if (!window.__xhr) {
  window.__xhr = [];
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    this.addEventListener('loadend', () => window.__xhr.push(
      {url: this.responseURL, status: this.status, body: body, response: this.responseText}));
    return send.call(this, body);
  };
}
"""

# name -> what the user sees for every input of the dialog (the accordion sections must be open)
_FIELDS = """
const out = {};
for (const el of arguments[0].querySelectorAll('input[name], textarea[name]')) {
  const root = el.closest('[data-scope=field][data-part=root]');
  const label = root && root.querySelector('label');
  const help = root && root.querySelector('[data-part=helper-text]');
  out[el.name] = {label: label ? label.innerText.trim() : null, placeholder: el.placeholder,
                  type: el.type, help: help ? help.innerText.trim() : null,
                  visible: el.offsetParent !== null, value: el.value};
}
return out;
"""


@dataclass
class UiTestResult:
    ok: bool
    title: str
    message: str
    http_status: int
    response: str


class ConnectionsPage:
    def __init__(self, driver: WebDriver, base_url: str, timeout: float = 30) -> None:
        self.driver = driver
        self.base_url = base_url
        self.timeout = timeout

    # ---- waiting and finding --------------------------------------------------------------
    def wait(self, condition: Callable[[WebDriver], Any], what: str) -> Any:
        return WebDriverWait(self.driver, self.timeout, poll_frequency=0.2).until(
            condition, message=f"timed out waiting for {what}"
        )

    def find(self, xpath: str, root: WebElement | None = None) -> WebElement:
        scope = root or self.driver

        def visible(_: WebDriver) -> WebElement | None:
            found = [e for e in scope.find_elements(By.XPATH, xpath) if e.is_displayed()]
            return found[0] if found else None

        return self.wait(visible, xpath)

    def click(self, element: WebElement) -> None:
        """Click; when a toast sits over the element (they stack bottom-right), click it from JS."""
        try:
            element.click()
        except ElementClickInterceptedException:
            self.driver.execute_script("arguments[0].click();", element)

    def button(self, text: str, root: WebElement | None = None) -> WebElement:
        return self.find(f".//button[normalize-space(.)={json.dumps(text)}]", root)

    # ---- navigation ------------------------------------------------------------------------
    def open_via_menu(self) -> None:
        """Home page -> Admin -> Connections, as a user would."""
        self.driver.get(self.base_url + "/")
        self.find("//*[normalize-space(text())='Admin']").click()
        self.find("//*[@role='menuitem'][normalize-space(.)='Connections']").click()
        self.wait(lambda d: d.current_url.rstrip("/").endswith("/connections"), "the Connections page")
        self.button("Add Connection")
        self.driver.execute_script(_XHR_RECORDER)

    def reload(self) -> None:
        self.driver.get(self.base_url + "/connections")
        self.button("Add Connection")
        self.driver.execute_script(_XHR_RECORDER)

    # ---- the add / edit dialog ---------------------------------------------------------------
    def dialog(self) -> WebElement:
        return self.find("//*[@role='dialog']")

    def open_add_dialog(self, conn_id: str, hook_name: str) -> WebElement:
        self.button("Add Connection").click()
        dialog = self.dialog()
        self.find(".//input[@name='connection_id']", dialog).send_keys(conn_id)
        combo = self.find(".//input[@role='combobox']", dialog)
        combo.send_keys(hook_name)
        self.find(f"//*[@role='option'][normalize-space(.)={json.dumps(hook_name)}]").click()
        self.button("Standard Fields", dialog)
        return dialog

    def open_edit_dialog(self, conn_id: str) -> WebElement:
        self.click(self.row(conn_id).find_element(By.XPATH, ".//button[@aria-label='Edit Connection']"))
        return self.dialog()

    def expand(self, dialog: WebElement, section: str) -> None:
        trigger = self.button(section, dialog)
        if trigger.get_attribute("aria-expanded") != "true":
            self.click(trigger)
            self.wait(lambda _: trigger.get_attribute("aria-expanded") == "true", f"{section} to open")

    def fields(self, dialog: WebElement) -> dict[str, dict[str, Any]]:
        return dict(self.driver.execute_script(_FIELDS, dialog))

    def input(self, dialog: WebElement, name: str) -> WebElement:
        """The named input, its accordion section opened first (one section is open at a time)."""
        self.expand(dialog, "Extra Fields" if name.startswith("element_") else "Standard Fields")
        return self.find(f".//*[@name={json.dumps(name)}]", dialog)

    def type_into(self, dialog: WebElement, name: str, text: str) -> None:
        field = self.input(dialog, name)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        if field.get_attribute("role") == "spinbutton":
            # a number input re-renders on every parsed value; "2." typed at machine speed can
            # race that re-render into "25", so type like a person does
            for char in text:
                field.send_keys(char)
                time.sleep(0.1)
        else:
            field.send_keys(text)
        self.wait(lambda _: field.get_attribute("value") == text, f"{name} to read {text!r}")

    def paste_into(self, dialog: WebElement, name: str, text: str) -> str:
        """Paste ``text`` through the real clipboard (Ctrl+V); returns what the input kept."""
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": self.base_url},
        )
        written = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.writeText(arguments[0]).then(() => done('ok'), e => done(String(e)));",
            text,
        )
        assert written == "ok", f"clipboard write failed: {written}"
        field = self.input(dialog, name)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.CONTROL, "v")
        return str(field.get_attribute("value"))

    def save(self, dialog: WebElement, toast_text: str) -> None:
        before = self.toast_ids()
        self.click(self.button("Save", dialog))
        self.new_toast(before, toast_text)
        self.wait(
            lambda d: not [e for e in d.find_elements(By.XPATH, "//*[@role='dialog']")], "dialog to close"
        )

    # ---- the list and the Test button --------------------------------------------------------
    def row(self, conn_id: str) -> WebElement:
        # the row whose cell reads exactly the connection id (3.2+ also marks that cell with
        # data-testid='table-cell-connection_id'; 3.1 does not)
        return self.find(f"//tr[td[normalize-space(.)={json.dumps(conn_id)}]]")

    def toasts(self) -> list[dict[str, str]]:
        """The toasts on screen, read in one go (they come and go while Selenium looks)."""
        return list(
            self.driver.execute_script(
                "return [...document.querySelectorAll('[data-scope=toast][data-part=root]')].map("
                "t => ({id: t.id, type: t.dataset.type || '', text: t.innerText.trim()}));"
            )
        )

    def toast_ids(self) -> set[str]:
        return {t["id"] for t in self.toasts()}

    def new_toast(self, before: set[str], containing: str = "") -> dict[str, str]:
        def appeared(_: WebDriver) -> dict[str, str] | None:
            fresh = [t for t in self.toasts() if t["id"] not in before and "\n" in t["text"]]
            return next((t for t in fresh if containing in t["text"]), None)

        return self.wait(appeared, f"a toast {containing!r}")

    def press_test(self, conn_id: str) -> UiTestResult:
        self.driver.execute_script("window.__xhr.length = 0;")
        before = self.toast_ids()
        self.click(self.row(conn_id).find_element(By.XPATH, ".//button[@aria-label='Test Connection']"))
        xhr = self.wait(
            lambda d: next(
                (x for x in d.execute_script("return window.__xhr;") if "/connections/test" in x["url"]), None
            ),
            "the /connections/test call",
        )
        toast = self.new_toast(before)
        title, _, message = toast["text"].partition("\n")
        time.sleep(0.3)  # let the toast finish its entrance animation before a screenshot
        return UiTestResult(
            ok=toast["type"] == "success",
            title=title.strip(),
            message=message.strip(),
            http_status=int(xhr["status"]),
            response=str(xhr["response"]),
        )
