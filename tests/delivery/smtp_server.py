"""Real SMTP servers on 127.0.0.1 for the mail tests: aiosmtpd, and one that never answers."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A port nobody listens on right now (bound to port 0, then released)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class RecordingHandler:
    """Accepts mail and records it; ``refuse_first`` DATA commands get ``refuse_with`` instead.

    ``mail_reply`` replaces the answer to MAIL FROM.

    ``hold`` (if set) makes DATA wait until it is set, with ``entered`` set meanwhile, so a test
    can act while a delivery is in the middle of the SMTP exchange.
    """

    refuse_first: int = 0
    refuse_with: str = "451 4.3.0 Try again later"
    hold: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    mail_reply: str | None = None
    received: list[Received] = field(default_factory=list)
    data_commands: int = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Accept the sender, or answer ``mail_reply`` (e.g. a rejection quoting the login)."""
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        self.entered.set()
        if self.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 10)
        if self.data_commands <= self.refuse_first:
            return self.refuse_with
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK"


@dataclass
class Authenticator:
    """AUTH LOGIN/PLAIN against one user; records every login the client tried."""

    user: str
    password: str
    tried: list[tuple[str, str]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.tried.append((login, password))
        ok = (login, password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535


@contextmanager
def smtp_server(
    handler: RecordingHandler | None = None,
    *,
    port: int | None = None,
    auth: Authenticator | None = None,
) -> Iterator[tuple[int, RecordingHandler]]:
    """An aiosmtpd server on 127.0.0.1; yields (port, handler). AUTH over plain text if ``auth``."""
    handler = handler or RecordingHandler()
    port = port or free_port()
    kwargs: dict[str, Any] = {}
    if auth is not None:
        kwargs = {"authenticator": auth, "auth_require_tls": False, "auth_required": True}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@contextmanager
def silent_server(port: int | None = None) -> Iterator[tuple[int, list[socket.socket]]]:
    """Accepts TCP connections and never says a word, so SMTP clients time out.

    Yields (port, accepted sockets); the list shows how many connections clients opened.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port or 0))
    listener.listen(16)
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1]), accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
