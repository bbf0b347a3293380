import time

import redis

from devserver import embedded_redis


def test_the_queue_outlives_a_killed_server(tmp_path):
    socket_path = tmp_path / "r.sock"
    server = embedded_redis.start(socket_path=socket_path, data_dir=tmp_path / "data")
    try:
        client = redis.Redis(unix_socket_path=str(socket_path))
        assert client.config_get("save") == {"save": "60 1"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.rpush("celery", "a queued photo")
        time.sleep(1.5)  # appendfsync everysec
    finally:
        server.kill()  # SIGKILL: no shutdown save
        server.wait(timeout=10)

    again = embedded_redis.start(socket_path=socket_path, data_dir=tmp_path / "data")
    try:
        assert redis.Redis(unix_socket_path=str(socket_path)).lrange("celery", 0, -1) == [b"a queued photo"]
    finally:
        again.terminate()
        again.wait(timeout=10)
