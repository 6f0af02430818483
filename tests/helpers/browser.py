"""The browser tests' page: Playwright's, recording what must not happen on it."""


class BrowserPage:
    """A Playwright page that records what must not happen: console errors, uncaught
    page errors and dialogs (alert/confirm/prompt; dismissed at once)."""

    def __init__(self, page):
        self.page = page
        self.console_errors = []
        self.page_errors = []
        self.dialogs = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", self._on_dialog)

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} @ {loc.get('url', '')}:{loc.get('lineNumber', '')}")

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        try:
            dialog.dismiss()
        except Exception:
            pass

    def problems(self, allow_http_errors=False):
        """Console errors, page errors and dialogs so far. With allow_http_errors,
        Chromium's own "Failed to load resource: ... status of 4xx" lines (which it
        logs for any fetch answered with an error status) are left out."""
        # Chromium asks for /favicon.ico by itself when a page is opened directly;
        # TensorBoard has none at that address. Not the page's doing.
        errors = [e for e in self.console_errors if "/favicon.ico" not in e]
        if allow_http_errors:
            errors = [
                e for e in errors
                if not ("Failed to load resource" in e and "status of 4" in e)
            ]
        return errors + [f"pageerror: {e}" for e in self.page_errors] + [
            f"dialog: {d}" for d in self.dialogs
        ]

    def __getattr__(self, name):
        return getattr(self.page, name)
