"""The upstreams' connection pools: found once per origin, connections checked before reuse."""
import socket

from ztoapi.upstream.http import prepared_request
from ztoapi.upstream.pools import CheckedConnection
from ztoapi.upstream.pools import OriginPools


def pool_for(adapter, url, proxies=None):
    return adapter.get_connection_with_tls_context(prepared_request("GET", url, {}), True, proxies)


def test_an_origin_pool_is_looked_up_once():
    adapter = OriginPools(pool_connections=2)
    first = pool_for(adapter, "http://127.0.0.1:8080/api/v1/chats/new")
    adapter.poolmanager.pools.clear()   # requests would now make a new pool for the origin
    assert pool_for(adapter, "http://127.0.0.1:8080/api/v2/chat/completions?x=1") is first
    other = pool_for(adapter, "http://127.0.0.1:8081/api/v1/chats/new")
    assert other is not first and (other.host, other.port) == ("127.0.0.1", 8081)
    assert pool_for(adapter, "https://127.0.0.1:8080/api/models") is not first


def test_through_a_proxy_requests_picks_the_pool():
    adapter = OriginPools()
    direct = pool_for(adapter, "http://127.0.0.1:8080/")
    proxied = pool_for(adapter, "http://127.0.0.1:8080/", {"http": "http://127.0.0.1:3128"})
    assert proxied is not direct and proxied.port == 3128


def connected_pair():
    """A CheckedConnection to a loopback listener, and the listener's side of it."""
    listener = socket.create_server(("127.0.0.1", 0))
    connection = CheckedConnection("127.0.0.1", listener.getsockname()[1])
    connection.connect()
    peer, _ = listener.accept()
    listener.close()
    return connection, peer


def test_a_quiet_open_connection_is_connected():
    connection, peer = connected_pair()
    assert connection.is_connected
    peer.close()
    connection.close()


def test_a_connection_the_peer_closed_or_that_has_unread_bytes_is_not():
    closed, peer = connected_pair()
    peer.close()
    chatty, other = connected_pair()
    other.sendall(b"HTTP/1.1 200 OK\r\n")
    assert not closed.is_connected and not chatty.is_connected
    assert not CheckedConnection("127.0.0.1", 1).is_connected   # never connected
    other.close()
    closed.close()
    chatty.close()


def test_the_adapter_pools_use_checked_connections():
    pool = pool_for(OriginPools(), "http://127.0.0.1:8080/")
    assert pool.ConnectionCls is CheckedConnection
    assert pool_for(OriginPools(), "https://127.0.0.1:8443/").ConnectionCls.is_connected is CheckedConnection.is_connected
