#!/usr/bin/env python3
"""socket_counter.py LISTEN TARGET COUNT_FILE: a unix-socket proxy in front of
a daemon's socket that counts the bytes clients send through it; after each
connection COUNT_FILE holds the total so far. Tests use it to see how much
strata sends to dockerd, counted by something other than strata."""
import os
import socket
import sys
import threading

listen_path, target_path, count_path = sys.argv[1:4]
total = 0
lock = threading.Lock()


def pipe(src, dst, counted):
    global total
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
            if counted:
                with lock:
                    total += len(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.connect(target_path)
    up = threading.Thread(target=pipe, args=(client, upstream, True))
    up.start()
    pipe(upstream, client, False)
    up.join()
    client.close()
    upstream.close()
    with lock:
        with open(count_path + ".tmp", "w") as f:
            f.write(str(total))
        os.replace(count_path + ".tmp", count_path)


server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(listen_path)
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
