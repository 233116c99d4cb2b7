"""The Streamlit app end to end in a real browser (headless Chromium + Selenium) on the
default model: `editmind app --headless` serves it, and a user asks, corrects permanently,
sees the new answer, checks another user cannot see the fact, undoes the edit (forgetting its
facts) and gets the old answer back. A screenshot of every page goes to
benchmarks/results/screenshots/<page>.png. Timings are printed (run with -s)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "benchmarks" / "results" / "screenshots"
EDIT_TIMEOUT_S = 900  # a lasting edit on the 135M model on a shared 2-core CPU: about a minute, more when busy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _home(tmp_path: Path, cache: Path) -> Path:
    """A fresh state directory whose model cache and key statistics are the test home's:
    the converted default model and its covariances are not rebuilt (minutes) per run."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("models", "stats", "downloads"):
        (cache / name).mkdir(parents=True, exist_ok=True)
        (home / name).symlink_to(cache / name, target_is_directory=True)
    return home


@pytest.fixture
def server(tmp_path, test_home):
    """`editmind app --headless` on a free loopback port; yields its URL, stops it afterwards."""
    port = _free_port()
    home = _home(tmp_path, test_home)
    env = {k: v for k, v in os.environ.items() if k not in ("EDITMIND_EMBEDDER", "EDITMIND_MODEL", "EDITMIND_DEVICE")}
    env["HOME"] = str(tmp_path / "user-home")  # proves the app writes nothing to ~/.streamlit
    started = time.perf_counter()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "editmind.apps.cli", "--model", "default", "--home", str(home), "app",
                                "--headless", "--port", str(port), "--address", "127.0.0.1"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the app server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        print(f"\n[timing] server healthy after {time.perf_counter() - started:.1f} s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        assert not (tmp_path / "user-home" / ".streamlit").exists(), "the app wrote to ~/.streamlit"


class Browser:
    """The few things a user does in the app, each waiting until Streamlit has finished."""

    def __init__(self, url: str, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1400,1300", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.binary_location = str(CHROMIUM)
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.url = url
        self.timings: dict[str, float] = {}

    # --- waiting ------------------------------------------------------------------
    def css(self, selector: str, root=None) -> list:
        from selenium.webdriver.common.by import By

        return (root or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def wait(self, condition, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = condition()
            except Exception:  # an element replaced while being read: look again
                value = None
            if value:
                return value
            time.sleep(0.3)
        self.shot("failure")
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; page:\n{self.main_text()[-2000:]}")

    def idle(self, timeout: float = 120) -> None:
        """Streamlit shows its status widget while the script runs; wait until it has been gone a moment."""
        def quiet() -> bool:
            if self.css('[data-testid="stStatusWidget"]'):
                return False
            time.sleep(0.4)
            return not self.css('[data-testid="stStatusWidget"]')

        self.wait(quiet, timeout, "the app to finish running")

    def main_text(self) -> str:
        try:
            return self.driver.find_element("css selector", '[data-testid="stMainBlockContainer"]').text
        except Exception:
            return ""

    def cells(self) -> list[str]:
        """Texts of the data grids' cells (st.dataframe draws on a canvas; its accessible table has the text)."""
        return [cell.get_attribute("textContent") or "" for cell in self.css('[data-testid^="stDataFrame"] td')]

    # --- actions ------------------------------------------------------------------
    def open(self) -> None:
        started = time.perf_counter()
        self.driver.get(self.url)
        self.wait(lambda: self.css('[data-testid="stChatInputTextArea"]'), 180, "the chat input")
        self.idle()
        self.timings["first page (model load)"] = time.perf_counter() - started

    def replies(self) -> list:
        return [m for m in self.css('[data-testid="stChatMessage"]')
                if self.css('[data-testid="stChatMessageAvatarAssistant"]', m)]

    def reply_text(self, message) -> str:
        return self.css('[data-testid="stMarkdownContainer"]', message)[0].text

    def send(self, text: str, timeout: float = 300) -> tuple[str, str]:
        """Type a chat message; return (the reply's text, the whole message with its notes)."""
        from selenium.webdriver.common.keys import Keys

        before = len(self.replies())
        started = time.perf_counter()
        box = self.css('[data-testid="stChatInputTextArea"]')[0]
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

        def answered() -> bool:  # one more reply, finished: its "why" is there and its spinner gone
            replies = self.replies()
            last = replies[-1] if len(replies) == before + 1 else None
            return bool(last is not None and self.css('[data-testid="stExpander"]', last)
                        and not self.css('[data-testid="stSpinner"]', last) and "Thinking…" not in last.text)

        self.wait(lambda: answered() and (time.sleep(1.0) or answered()), timeout, f"the reply to {text!r}")
        self.idle(timeout)
        self.timings[f"chat #{len(self.replies())}: {text}"] = time.perf_counter() - started
        last = self.replies()[-1]
        return self.reply_text(last), last.text

    def page(self, name: str) -> None:
        from selenium.webdriver.common.by import By

        started = time.perf_counter()
        self.driver.find_element(By.XPATH, f"//*[@data-testid='stSidebar']//label[@data-testid='stRadioOption']"
                                           f"[.//p[normalize-space()='{name}']]").click()
        self.wait(lambda: any(h.text.strip() == name for h in self.css('[data-testid="stMainBlockContainer"] h1')), 120,
                  f"the {name} page")
        self.idle()
        self.timings[f"page: {name}"] = time.perf_counter() - started

    def user(self, name: str) -> None:
        from selenium.webdriver.common.keys import Keys

        box = self.css('[data-testid="stSidebar"] input[aria-label="User"]')[0]
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(name, Keys.ENTER)
        self.wait(lambda: f" {name} " in f" {self.main_text()} ".replace(".", " ").replace("'", " "), 60, f"user {name}")
        self.idle()

    def button(self, label: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.XPATH, f"//*[@data-testid='stMainBlockContainer']//button[.//p[normalize-space()='{label}']]")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(server, tmp_path):
    browser = Browser(server, tmp_path / "chromium-profile")
    yield browser
    browser.close()
    print("\n".join(f"[timing] {name}: {seconds:.1f} s" for name, seconds in browser.timings.items()))


def test_correct_permanently_then_undo_in_the_browser(browser):
    browser.open()
    browser.user("alice")
    old, _ = browser.send("Where is the Eiffel Tower?")
    assert old.strip() and "Rome" not in old

    reply, message = browser.send("No, the Eiffel Tower is in Rome. Remember this permanently.", timeout=EDIT_TIMEOUT_S)
    assert "Rome" in reply and "written into the model" in message, message

    new, _ = browser.send("Where is the Eiffel Tower?")
    assert "Rome" in new, new
    browser.css('[data-testid="stChatMessage"] [data-testid="stExpander"] summary')[-1].click()  # open "why"
    browser.idle()
    assert "facts used" in browser.replies()[-1].text
    browser.shot("chat")

    browser.page("Memory")
    browser.wait(lambda: any("Eiffel Tower is located in Rome" in cell for cell in browser.cells()), 30,
                 "alice's fact in the memory table")
    browser.shot("memory")
    browser.user("bob")  # another user's memory does not hold alice's fact
    browser.wait(lambda: "No facts in bob's memory" in browser.main_text() and "Eiffel" not in browser.main_text()
                 and not any("Eiffel" in cell for cell in browser.cells()), 60,
                 "bob's memory page without alice's fact (the page re-renders after the switch)")
    browser.user("alice")
    browser.wait(lambda: any("Eiffel Tower is located in Rome" in cell for cell in browser.cells()), 30,
                 "alice's fact back in the table")

    browser.page("Edits")
    def forget_box_checked() -> bool:  # the page may still be re-rendering: look again until it settles
        boxes = browser.css('[data-testid="stMainBlockContainer"] [data-testid="stCheckbox"] input[type="checkbox"]')
        return bool(boxes) and (boxes[0].get_attribute("aria-checked") == "true" or boxes[0].is_selected())

    browser.wait(forget_box_checked, 60, "the 'also forget the facts this edit wrote' box, checked by default")
    browser.shot("edits")
    started = time.perf_counter()
    browser.button("Undo").click()
    browser.wait(lambda: "Undone edit" in browser.main_text(), 300, "the undo")
    browser.idle()
    browser.timings["undo (with forget)"] = time.perf_counter() - started
    assert "Deleted 1 fact(s)" in browser.main_text() and "No edits in the journal" in browser.main_text()

    browser.page("Chat")
    again, _ = browser.send("Where is the Eiffel Tower?")
    assert "Rome" not in again, again
    assert again == old  # bitwise the old weights, and no fact left: the old answer, word for word

    browser.page("Safety")
    assert "Sanitation" in browser.main_text() and "Debias" in browser.main_text() and browser.button("Detox")
    browser.shot("safety")

    browser.page("Evaluate")
    from selenium.webdriver.common.keys import Keys

    choice = browser.css('[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"] input')[0]
    choice.click()
    choice.send_keys("knowedit_quality.json", Keys.ENTER)
    browser.wait(lambda: browser.css('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]'), 60,
                 "the bar chart")
    browser.idle()
    time.sleep(1)  # the chart draws after its element appears
    browser.shot("evaluate")
