"""The console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which ``.ci/run`` installs) driven by selenium against a real daemon
(``isoill serve``) and simulated peers (``isoill peer``), all on loopback. One browser and one
daemon serve every test of this module, in order; each test makes its own requests.

The main pages' screenshots are taken by every run; with ``ISOILL_SCREENSHOTS=1`` they are
written into docs/console/ (which docs/console.md shows), else into the test's temporary
directory, so that a test run leaves the checkout as it was."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from console_harness import ACCOUNTS, console_config
from gateway_harness import exchange, ill_request
from paths import CAPTURES
from transaction_apdus import apdu as transaction_apdu

from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest, StatusOrErrorReport
from isoill.store.open import open_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Where docs/console.md's screenshots live; written there only with ISOILL_SCREENSHOTS=1.
DOCS_SCREENSHOTS = CAPTURES.parents[2] / "docs" / "console"
ISOILL = str(Path(sys.executable).with_name("isoill"))
#: Flags Chromium needs on these machines (no sandbox as root, no network of its own).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
WAIT = 15.0

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 (only with a browser to drive)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def waited(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.1)


class Peer:
    """``isoill peer`` as a process, recording what it receives into a file."""

    def __init__(self, directory: Path, symbol: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.symbol = symbol
        self.record = directory / f"{symbol}-{self.port}.ber"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Peer:
        self.process = subprocess.Popen(
            [
                *(ISOILL, "peer", "--listen", self.address, "--symbol", self.symbol),
                *("--record", str(self.record), "--close-after-answer"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        waited(self._listening, f"peer {self.symbol} to listen")
        return self

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def received(self) -> list[bytes]:
        if not self.record.exists():
            return []
        framer = Framer()
        framer.feed(self.record.read_bytes())
        apdus = []
        while (apdu := framer.next_apdu()) is not None:
            apdus.append(apdu)
        return apdus

    def qualifiers(self) -> list[str]:
        """The transaction-qualifier of each APDU received."""
        return [decode(ber).transaction_id.transaction_qualifier.text for ber in self.received()]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


class Site:
    """The daemon, its peers and one browser."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        update = os.environ.get("ISOILL_SCREENSHOTS") == "1"
        self.screenshots = DOCS_SCREENSHOTS if update else directory / "screenshots"
        self.resplib = Peer(directory, "RESPLIB").start()
        self.newlib = Peer(directory, "NEWLIB").start()
        self.faillib = Peer(directory, "FAILLIB")  # started only for the resend
        self.moved = Peer(directory, "RESPLIB").start()
        self.second = Peer(directory, "RESPLIB").start()
        self.reqlib = Peer(directory, "REQLIB").start()
        self.listen, self.admin = free_port(), free_port()
        routes = {
            "RESPLIB": [self.resplib.address],
            "NEWLIB": [self.newlib.address],
            "FAILLIB": [self.faillib.address],
            "REQLIB": [self.reqlib.address],
        }
        config = console_config(
            directory,
            routes,
            extra='[peers.REQLIB]\nconnection = "per-apdu"\n',
            port=self.admin,
            hold=True,
            attempts=1,
        )
        config.write_text(config.read_text().replace("port = 0\n", f"port = {self.listen}\n", 1))
        self.log = (directory / "daemon.log").open("wb")
        self.daemon = subprocess.Popen(
            [ISOILL, "serve", "--config", str(config)], stderr=self.log, stdout=self.log
        )
        waited(self._ready, "the daemon's admin listener", 30)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        self.profile = tempfile.mkdtemp(prefix="isoill-chromium-")
        options.add_argument(f"--user-data-dir={self.profile}")
        self.browser: WebDriver = webdriver.Chrome(
            options=options, service=Service(str(CHROMEDRIVER))
        )
        self.base = f"http://127.0.0.1:{self.admin}"
        self.number = 100

    def _ready(self) -> bool:
        assert self.daemon.poll() is None, (self.directory / "daemon.log").read_text()[-3000:]
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.admin)) == 0

    def close(self) -> None:
        self.browser.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
        self.daemon.send_signal(signal.SIGTERM)
        assert self.daemon.wait(20) == 0
        self.log.close()
        for peer in (self.resplib, self.newlib, self.faillib, self.moved, self.second, self.reqlib):
            peer.stop()

    # -- the gateway's side ------------------------------------------------------------------

    def send(self, requester: str = "REQLIB", responder: str = "RESPLIB") -> str:
        """A new ILL-Request, acknowledged by the gateway; its qualifier."""
        self.number += 1
        self.deliver(ill_request(self.number, requester, responder))
        return f"TX-{self.number:04d}"

    def deliver(self, apdu: bytes) -> None:
        """``apdu`` to the gateway on a connection of its own, acknowledged."""
        (answer,) = asyncio.run(exchange(self.listen, [apdu]))
        report = decode(answer)
        assert isinstance(report, StatusOrErrorReport) and report.error_report is None

    # -- the browser's side ------------------------------------------------------------------

    def open(self, path: str) -> None:
        self.browser.get(self.base + path)

    def login(self, role: str) -> None:
        self.browser.delete_all_cookies()
        self.open("/login")
        name, password = ACCOUNTS[role]
        self.field("name").send_keys(name)
        self.field("password").send_keys(password)
        self.click("#login")
        self.wait_for("#who")
        assert self.text("#who") == f"{name} ({role})"

    def field(self, element_id: str) -> WebElement:
        return self.browser.find_element(By.ID, element_id)

    def click(self, selector: str) -> None:
        self.browser.find_element(By.CSS_SELECTOR, selector).click()

    def text(self, selector: str) -> str:
        text: str = self.browser.find_element(By.CSS_SELECTOR, selector).text
        return text

    def wait_for(self, selector: str) -> None:
        WebDriverWait(self.browser, WAIT).until(
            lambda browser: browser.find_elements(By.CSS_SELECTOR, selector)
        )

    def type(self, element_id: str, text: str) -> None:
        element = self.browser.find_element(By.ID, element_id)
        element.clear()
        element.send_keys(text)

    def screenshot(self, name: str) -> None:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        assert self.browser.save_screenshot(str(path))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def held_row(self, qualifier: str) -> str:
        """The id of the held message of this transaction, from the queue page."""
        self.open("/queue?state=held")
        for row in self.browser.find_elements(By.CSS_SELECTOR, "#messages tr[id^=message-]"):
            message_id = row.get_attribute("id")
            assert message_id is not None
            found = self.held_qualifier(int(message_id.removeprefix("message-")))
            if found == qualifier:
                return message_id
        raise AssertionError(f"no held message of {qualifier}")

    def held_qualifier(self, message_id: int) -> str | None:
        store = open_store(self.directory / "store.sqlite3")  # a reader beside the daemon
        try:
            apdu = decode(store.apdu(message_id))
        finally:
            store.close()
        return (
            apdu.transaction_id.transaction_qualifier.text if isinstance(apdu, ILLRequest) else None
        )


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    directory = Path(tempfile.mkdtemp(prefix="isoill-browser-"))
    built = Site(directory)
    try:
        yield built
    finally:
        built.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_log_in_and_see_the_dashboard(site: Site) -> None:
    site.open("/")
    site.wait_for("#login")  # sent to the login page
    site.screenshot("login")
    site.field("name").send_keys("admin")
    site.field("password").send_keys("wrong")
    site.click("#login")
    site.wait_for("#error")
    assert site.text("#error") == "wrong name or password"
    site.login("admin")
    site.send()  # some traffic for the chart
    site.open("/")
    assert site.browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")
    waited(lambda: len(site.resplib.received()) == 1, "the first request at RESPLIB")
    site.open("/")
    site.screenshot("dashboard")


def test_release_a_held_request_and_see_it_arrive(site: Site) -> None:
    site.login("operator")
    qualifier = site.send("NEWLIB")
    row = site.held_row(qualifier)
    site.screenshot("queue")
    site.click(f"#{row} button.release")
    site.wait_for("#note")
    assert "released to RESPLIB" in site.text("#note")
    waited(lambda: qualifier in site.resplib.qualifiers(), "the released request at RESPLIB")


def test_refuse_another_and_see_the_requesters_report(site: Site) -> None:
    site.login("operator")
    qualifier = site.send("NEWLIB")
    row = site.held_row(qualifier)
    site.browser.find_element(By.CSS_SELECTOR, f"#{row} input.reason").send_keys("not a partner")
    site.click(f"#{row} button.refuse")
    site.wait_for("#note")
    assert "refused; report" in site.text("#note")
    waited(lambda: qualifier in site.newlib.qualifiers(), "the report at NEWLIB")
    (report,) = [b for b in site.newlib.received() if qualifier in str(decode(b).transaction_id)]
    assert isinstance(decode(report), StatusOrErrorReport)
    assert qualifier not in site.resplib.qualifiers()
    site.open("/refusals")
    assert "not a partner" in site.text("#refusals")


def test_resend_a_failed_delivery(site: Site) -> None:
    site.login("operator")
    qualifier = site.send(responder="FAILLIB")

    def failed() -> bool:
        site.open("/queue?state=failed")
        return bool(site.browser.find_elements(By.CSS_SELECTOR, "button.resend"))

    waited(failed, "the delivery to FAILLIB to fail")
    site.faillib.start()
    site.click("button.resend")
    site.wait_for("#note")
    assert "1 deliveries due now" in site.text("#note")
    waited(lambda: site.faillib.qualifiers() == [qualifier], "the resent request at FAILLIB")


def edit_route(site: Site, **fields: str) -> None:
    """Fill the routes form, look at the diff, apply."""
    site.open("/routes")
    for element_id, value in fields.items():
        site.type(element_id, value)
    site.click("#preview")
    site.wait_for("#diff")
    assert "+" in site.text("#diff")


def test_edit_a_route_and_see_the_next_apdu_go_there(site: Site) -> None:
    site.login("admin")
    edit_route(site, **{"edit-symbol": "RESPLIB", "edit-addresses": site.moved.address})
    assert f'+addresses = ["{site.moved.address}"]' in site.text("#diff")
    site.screenshot("routes-change")
    site.click("#apply")
    site.wait_for("#note")
    assert "applied: set peer RESPLIB" in site.text("#note")
    before = len(site.resplib.received())
    qualifier = site.send()
    waited(lambda: qualifier in site.moved.qualifiers(), "the request at the new address")
    assert len(site.resplib.received()) == before


def test_start_a_move_window_and_see_both_addresses_receive(site: Site) -> None:
    site.login("admin")
    now = datetime.now(UTC)
    edit_route(
        site,
        **{
            "edit-symbol": "RESPLIB",
            "edit-addresses": site.moved.address,
            "edit-move-to": site.second.address,
            "edit-move-start": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
            "edit-move-cutover": (now + timedelta(days=2)).isoformat(timespec="seconds"),
        },
    )
    site.click("#apply")
    site.wait_for("#note")
    assert "during" in site.text("#route-RESPLIB")
    assert site.browser.find_elements(By.CSS_SELECTOR, "#route-RESPLIB svg.window")
    site.screenshot("routes")
    qualifier = site.send()
    waited(lambda: qualifier in site.moved.qualifiers(), "the request at the old address")
    waited(lambda: qualifier in site.second.qualifiers(), "the request at the new address")


def test_restore_the_previous_routes_version(site: Site) -> None:
    site.login("admin")
    site.open("/routes")
    rows = site.browser.find_elements(By.CSS_SELECTOR, "#versions tr[id^=version-]")
    newest = int((rows[0].get_attribute("id") or "").removeprefix("version-"))
    site.click(f"#version-{newest - 1} button.restore")
    site.wait_for("#note")
    assert f"restore version {newest - 1}" in site.text("#note")
    second = len(site.second.received())
    qualifier = site.send()
    waited(lambda: qualifier in site.moved.qualifiers(), "the request at the restored address")
    time.sleep(1)  # had the window still been open, the second address would have it by now
    assert len(site.second.received()) == second


def test_follow_a_transaction_on_its_timeline(site: Site) -> None:
    for name in ("ILL-Request", "Shipped", "Received"):
        site.deliver(transaction_apdu(name, "LOAN-1"))
    waited(lambda: len(site.reqlib.received()) == 1, "the Shipped at REQLIB")
    site.login("admin")
    site.open("/transactions?qualifier=LOAN-1")
    site.click("#transactions a")
    site.wait_for("#timeline")
    steps = [item.text for item in site.browser.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert [step.split(" requester ")[1] for step in steps] == [
        "PENDING · responder IN-PROCESS",
        "SHIPPED · responder SHIPPED",
        "RECEIVED · responder SHIPPED",
    ]
    assert '"client-id": "(masked)"' in site.browser.page_source
    site.screenshot("transaction")
    site.click("#reveal")
    site.wait_for("#timeline")
    assert '"client-id": "(masked)"' not in site.browser.page_source
    assert '"client-id": {' in site.browser.page_source
    site.open("/peers")
    site.wait_for("#peer-REQLIB")
    site.screenshot("peers")


def test_a_viewer_cannot_change_anything(site: Site) -> None:
    qualifier = site.send("NEWLIB")
    site.login("viewer")
    row = site.held_row(qualifier)
    assert not site.browser.find_elements(By.CSS_SELECTOR, f"#{row} form")
    site.open("/routes")
    assert not site.browser.find_elements(By.ID, "route-edit")
    assert not site.browser.find_elements(By.CSS_SELECTOR, "button.restore")
    # a form made by hand, with the viewer's own CSRF token, is refused all the same
    message_id = row.removeprefix("message-")
    site.browser.execute_script(
        """const form = document.querySelector("header form").cloneNode(true);
        form.action = "/queue/" + arguments[0] + "/release";
        document.body.appendChild(form); form.submit();""",
        message_id,
    )
    site.wait_for("#error")
    assert "needs the operator role" in site.text("#error")
    assert site.held_row(qualifier) == row
    assert qualifier not in site.resplib.qualifiers() + site.moved.qualifiers()


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    qualifier = site.send("NEWLIB")
    site.login("operator")
    row = site.held_row(qualifier)
    site.browser.execute_script(
        'document.querySelector(arguments[0] + " form input[name=csrf]").remove();', f"#{row}"
    )
    site.click(f"#{row} button.release")
    site.wait_for("#error")
    assert "CSRF token is missing or wrong" in site.text("#error")
    assert site.held_row(qualifier) == row
