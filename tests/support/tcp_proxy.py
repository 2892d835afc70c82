"""A TCP proxy on 127.0.0.1 that a test can cut or stall, to fake database outages.

    async with running_proxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        ...
        await proxy.cut()      # every open connection closed both ways; new ones refused
        proxy.restore()        # new connections work again
        proxy.stall()          # connections stay open, no byte moves either way (a hung server)
        proxy.restore()        # the bytes held back flow again

Built on protocols and transports rather than streams: forwarding runs in loop callbacks,
so the only task the proxy ever creates is the short one that dials the target for a new
connection, and every one of those is awaited before `running_proxy` returns.

A cut closes sockets with a FIN (the peer reads end of stream); `cut(reset=True)` sends an
RST instead (the peer gets ECONNRESET). While cut, new connections are accepted and
aborted at once, so the listening port stays ours and clients fail fast instead of
waiting on a connect timeout. While stalled, new connections are accepted and dialled
through, then held silent like the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

__all__ = ["TcpProxy", "running_proxy"]


class _Side(asyncio.Protocol):
    """One socket of a proxied connection: what it reads, it writes to the other side."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.write_blocked = False  # our send buffer is over the high-water mark
        self.got_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None or peer.transport.is_closing():
            return
        peer.transport.write(data)

    def eof_received(self) -> bool:
        self.got_eof = True
        peer = self.peer
        if peer is None or peer.transport is None or not peer.transport.can_write_eof():
            self.link.close()
            return False
        if not peer.transport.is_closing():
            peer.transport.write_eof()
        if peer.got_eof:  # both directions finished
            self.link.close()
            return False
        return True  # half-closed: keep carrying bytes the other way

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(self)

    def pause_writing(self) -> None:
        self.write_blocked = True
        self.link.update_reading()

    def resume_writing(self) -> None:
        self.write_blocked = False
        self.link.update_reading()


class _Link:
    """A client connection and its connection to the target."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.client: _Side = _ClientSide(self)
        self.upstream: _Side | None = None
        self.closed = False
        self._open_sides = 1
        self.done = asyncio.get_running_loop().create_future()

    def _want_reading(self, side: _Side) -> bool:
        peer = side.peer
        return not (self.proxy.stalled or peer is None or peer.write_blocked)

    def update_reading(self) -> None:
        for side in (self.client, self.upstream):
            transport = side.transport if side is not None else None
            if side is None or transport is None or transport.is_closing():
                continue
            want = self._want_reading(side)
            if want and not transport.is_reading():
                transport.resume_reading()
            elif not want and transport.is_reading():
                transport.pause_reading()

    def attach_upstream(self, side: _Side) -> None:
        self.upstream = side
        self._open_sides += 1
        side.peer, self.client.peer = self.client, side
        self.update_reading()

    def close(self, *, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy._changed()
        for side in (self.client, self.upstream):
            if side is None or side.transport is None:
                continue
            if reset:
                sock = side.transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
            side.transport.abort()  # both ways at once, unsent bytes dropped
        self._maybe_done()

    def lost(self, side: _Side) -> None:
        if side is not self.client and side is not self.upstream:
            return  # an upstream dialled after the link closed; never counted
        self._open_sides -= 1
        self.close()
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.closed and self._open_sides <= 0 and not self.done.done():
            self.done.set_result(None)
            self.proxy._links.discard(self)


class _ClientSide(_Side):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.Transport)
        proxy = self.link.proxy
        proxy._links.add(self.link)
        proxy._changed()
        if proxy.is_cut or proxy._closing:
            self.link.close()
            return
        transport.pause_reading()  # until the target answers
        task = asyncio.get_running_loop().create_task(proxy._dial(self.link))
        proxy._dials.add(task)
        task.add_done_callback(proxy._dials.discard)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to (target_host, target_port); see the module docstring."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.is_cut = False
        self.stalled = False
        self.accepted = 0  # connections accepted over the proxy's life, refused ones included
        self._links: set[_Link] = set()
        self._dials: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._closing = False
        self._waiters: list[asyncio.Future[None]] = []

    def _changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_connections(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109 - a default bound, so a test cannot hang
    ) -> None:
        """Wait until exactly `count` client connections are open through the proxy."""
        async with asyncio.timeout(timeout):
            while self.connections != count:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter

    @property
    def connections(self) -> int:
        """Client connections currently open through the proxy."""
        return sum(1 for link in self._links if not link.closed)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def accept() -> _Side:
            self.accepted += 1
            return _Link(self).client

        self._server = await loop.create_server(accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _dial(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, side = await loop.create_connection(
                lambda: _Side(link), self.target_host, self.target_port
            )
        except OSError:
            link.close()  # target down: the client sees its connection closed
            return
        if link.closed:
            if side.transport is not None:
                side.transport.abort()
            return
        link.attach_upstream(side)

    async def cut(self, *, reset: bool = False) -> None:
        """Close every open connection both ways, and refuse new ones until `restore()`."""
        self.is_cut = True
        await self._close_all(reset=reset)

    def stall(self) -> None:
        """Keep connections open but forward nothing, either way, until `restore()`."""
        self.stalled = True
        for link in list(self._links):
            link.update_reading()

    def restore(self) -> None:
        """Undo `cut()` and `stall()`: accept and forward again."""
        self.is_cut = False
        self.stalled = False
        for link in list(self._links):
            link.update_reading()

    async def _close_all(self, *, reset: bool = False) -> None:
        links = list(self._links)
        for link in links:
            link.close(reset=reset)
        # A dial finishing after its link closed aborts what it opened. Cancelling it instead
        # could drop a connection the loop had just made, so cancel only one that hangs.
        if self._dials:
            _, hung = await asyncio.wait(list(self._dials), timeout=5)
            for task in hung:
                task.cancel()
            if hung:
                await asyncio.gather(*hung, return_exceptions=True)
        pending = [link.done for link in links if not link.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        await self._close_all()
        if self._server is not None:
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def running_proxy(target_host: str, target_port: int) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
