# SPDX-License-Identifier: Apache-2.0
"""A TCP relay that adds a one-way delay to every chunk in both directions: puts the BSF "far away" from the
Registrar for bench/gba.sh (a Zn round trip of a remote BSF) without touching the network. Usage:
    python3 zn_delay.py LISTEN_PORT TARGET_PORT DELAY_MS      (prints "listening PORT" once ready)"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000

    async def handle(cr, cw):
        ur, uw = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(cr, uw, delay), pipe(ur, cw, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
