import asyncio
import socket

import pytest
from offline_guard import NetworkAccessError


def test_connection_outside_loopback_fails_before_any_packet() -> None:
    # 203.0.113.0/24 is TEST-NET-3, reserved for documentation: nothing is ever sent there.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkAccessError, match=r"203\.0\.113\.7"),
    ):
        sock.connect(("203.0.113.7", 443))


async def test_asyncio_connections_are_guarded_too() -> None:
    with pytest.raises(NetworkAccessError):
        await asyncio.open_connection("203.0.113.7", 443)


def test_loopback_connections_are_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2) as client:
            assert client.getpeername() == server.getsockname()
